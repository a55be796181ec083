"""Start the pricing service: `python -m services.pricing`."""

from __future__ import annotations

from purchase_lab.config import Settings
from purchase_lab.grpc_server import serve
from purchase_lab.logs import configure_logging
from services.pricing.server import SERVICE_NAME, register


def main() -> None:
    """Serve PricingService on the configured host and port until SIGTERM."""
    settings = Settings.from_env()
    configure_logging("pricing", settings.log_level)
    serve("pricing", f"{settings.host}:{settings.ports.pricing}", register, [SERVICE_NAME])


if __name__ == "__main__":
    main()
