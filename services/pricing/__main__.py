"""Start the pricing service: `python -m services.pricing`."""

from __future__ import annotations

import functools

from purchase_lab.config import Settings
from purchase_lab.flags import FeatureFlags
from purchase_lab.grpc_server import serve
from purchase_lab.logs import configure_logging
from services.pricing.server import SERVICE_NAME, register


def main() -> None:
    """Watch the live flags and serve PricingService on the configured host and port until SIGTERM."""
    settings = Settings.from_env()
    configure_logging("pricing", settings.log_level)
    flags = FeatureFlags.start()
    try:
        serve(
            "pricing",
            f"{settings.host}:{settings.ports.pricing}",
            functools.partial(register, flags=flags),
            [SERVICE_NAME],
        )
    finally:
        flags.stop()


if __name__ == "__main__":
    main()
