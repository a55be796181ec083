"""Start the pricing service: `python -m services.pricing`."""

from __future__ import annotations

import functools
import logging
import sys

from purchase_lab.config import ConfigError, Settings
from purchase_lab.flags import FeatureFlags
from purchase_lab.grpc_server import serve
from purchase_lab.logs import configure_logging
from purchase_lab.telemetry import setup_telemetry
from purchase_lab.telemetry.hooks import flag_hooks
from services.pricing.releases import load_release
from services.pricing.server import SERVICE_NAME, register

log = logging.getLogger(__name__)


def main() -> None:
    """Watch the live flags and serve PricingService on the configured host and port until SIGTERM.

    Traced and measured as the OTEL_* variables say; each flag evaluation is counted and on the call's span.
    """
    settings = Settings.from_env()
    configure_logging("pricing", settings.log_level, settings.log_format)
    try:
        release = load_release()
    except ConfigError as error:
        sys.exit(f"pricing: {error}")
    log.info("pricing runs release %s", release.VERSION)
    telemetry = setup_telemetry("pricing")
    flags = FeatureFlags.start()
    if telemetry.enabled:
        flags.client.add_hooks(flag_hooks(telemetry.metrics))
    try:
        serve(
            "pricing",
            f"{settings.host}:{settings.ports.pricing}",
            functools.partial(register, flags=flags, release=release),
            [SERVICE_NAME],
            telemetry=telemetry,
        )
    finally:
        flags.stop()


if __name__ == "__main__":
    main()
