"""Start the email service: `python -m services.email`."""

from __future__ import annotations

import functools

from purchase_lab.config import Settings
from purchase_lab.grpc_server import serve
from purchase_lab.logs import configure_logging
from purchase_lab.telemetry import setup_telemetry
from purchase_lab.telemetry.instrument import instrument_redis
from services.email.outbox import Outbox, redis_client
from services.email.server import SERVICE_NAME, register


def main() -> None:
    """Serve EmailService, recording into the Redis at PURCHASE_REDIS_URL, until SIGTERM; traced and measured."""
    settings = Settings.from_env()
    configure_logging("email", settings.log_level, settings.log_format)
    telemetry = setup_telemetry("email")
    instrument_redis(telemetry)
    outbox = Outbox(redis_client(settings.redis_url))
    address = f"{settings.host}:{settings.ports.email}"
    serve("email", address, functools.partial(register, outbox=outbox), [SERVICE_NAME], telemetry=telemetry)


if __name__ == "__main__":
    main()
