"""Start the cart service: `python -m services.cart`, configured by the PURCHASE_* variables."""

from __future__ import annotations

import functools

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from purchase_lab.config import Settings
from purchase_lab.grpc_server import serve
from purchase_lab.logs import configure_logging
from purchase_lab.telemetry import setup_telemetry
from purchase_lab.telemetry.instrument import instrument_redis
from services.cart.server import SERVICE_NAME, register
from services.cart.store import CartStore

# Callers give the cart about a second per call, so a Redis that does not answer must fail the
# call well within that (as UNAVAILABLE, which they may retry), not hang it.
REDIS_CONNECT_TIMEOUT_SECONDS = 0.25
REDIS_TIMEOUT_SECONDS = 0.5


def connect_redis(url: str) -> redis.Redis:
    """A Redis client that returns text, gives up quickly, and retries a broken connection once."""
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), retries=1),
    )


def main() -> None:
    """Serve the cart service until SIGTERM or SIGINT, traced and measured as the OTEL_* variables say."""
    settings = Settings.from_env()
    configure_logging("cart", settings.log_level, settings.log_format)
    telemetry = setup_telemetry("cart")
    instrument_redis(telemetry)
    store = CartStore(connect_redis(settings.redis_url))
    address = f"{settings.host}:{settings.ports.cart}"
    serve("cart", address, functools.partial(register, store=store), [SERVICE_NAME], telemetry=telemetry)


if __name__ == "__main__":
    main()
