"""The processes that make up the lab, in start order, and how each one is run and checked."""

from __future__ import annotations

import sys
from pathlib import Path

from purchase_lab.config import Settings
from purchase_lab.health import grpc_serving, http_ok
from purchase_lab.processes import ProcessSpec
from purchase_lab.redis_server import redis_command

# Start order: Redis first, the gateway last (it needs the others).
SERVICES = ("redis", "cart", "pricing", "email", "gateway")
GRPC_SERVICES = ("cart", "pricing", "email")


def _redis_ping(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(port=port, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


def process_spec(name: str, settings: Settings, data_dir: Path) -> ProcessSpec:
    """Return how to run and health-check the named process with these settings."""
    ports = settings.ports
    if name == "redis":
        return ProcessSpec(
            name,
            redis_command(ports.redis, data_dir),
            f"redis://127.0.0.1:{ports.redis}",
            lambda: _redis_ping(ports.redis),
        )
    if name in GRPC_SERVICES:
        target = f"127.0.0.1:{getattr(ports, name)}"
        return ProcessSpec(name, [sys.executable, "-m", f"services.{name}"], target, lambda: grpc_serving(target))
    if name == "gateway":
        url = f"http://127.0.0.1:{ports.gateway}"
        return ProcessSpec(name, [sys.executable, "-m", "services.gateway"], url, lambda: http_ok(f"{url}/healthz"))
    raise KeyError(f"unknown service {name!r}; choose one of {', '.join(SERVICES)}")
