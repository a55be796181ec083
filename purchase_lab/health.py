"""Ask a process whether it is healthy, through its real health protocol, and wait until it is."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def grpc_serving(target: str, timeout: float = 0.5) -> bool:
    """True when the standard gRPC health service at target answers SERVING."""
    with grpc.insecure_channel(target) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=timeout
            )
        except grpc.RpcError:
            return False
    return reply.status == health_pb2.HealthCheckResponse.SERVING


def http_ok(url: str, timeout: float = 0.5) -> bool:
    """True when a GET of url answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def redis_ok(url: str, timeout: float = 0.5) -> bool:
    """True when the Redis at url answers PING: a service that keeps its state there can serve."""
    import redis  # here: the gRPC and HTTP checks of a container's healthcheck need not pay for importing it

    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def wait_until(check, what: str, timeout: float, alive=lambda: True) -> None:
    """Poll check() every 50 ms until it is true; raise TimeoutError naming what never came up.

    alive() is polled too, so a process that died is reported at once instead of after timeout.
    """
    deadline = time.monotonic() + timeout
    while not check():
        if not alive():
            raise RuntimeError(f"{what} exited before it became healthy")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} was not healthy after {timeout:.0f} s")
        time.sleep(0.05)
