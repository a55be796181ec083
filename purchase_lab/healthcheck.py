"""Exit 0 when a lab process is healthy, through its real health protocol (for container healthchecks).

python -m purchase_lab.healthcheck grpc HOST:PORT     # the standard gRPC health service says SERVING
python -m purchase_lab.healthcheck http URL           # a GET of URL answers 200
python -m purchase_lab.healthcheck grpc HOST:PORT --redis REDIS_URL   # ... and its Redis answers PING
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from purchase_lab.health import grpc_serving, http_ok, redis_ok

CHECKS = {"grpc": grpc_serving, "http": http_ok}


def main(argv: Sequence[str] | None = None) -> int:
    """Check one process once; return 0 when healthy, 1 (with a message on stderr) when not."""
    parser = argparse.ArgumentParser(prog="python -m purchase_lab.healthcheck", description=__doc__.splitlines()[0])
    parser.add_argument("protocol", choices=sorted(CHECKS), help="grpc: standard health service; http: GET")
    parser.add_argument("target", help="HOST:PORT for grpc, a URL for http")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for an answer (default 2)")
    parser.add_argument(
        "--redis", metavar="URL", help="healthy only while the Redis at URL answers too (for cart and email)"
    )
    options = parser.parse_args(argv)
    if not CHECKS[options.protocol](options.target, timeout=options.timeout):
        parser.exit(1, f"{options.target} is not healthy ({options.protocol} health check failed)\n")
    if options.redis and not redis_ok(options.redis, timeout=options.timeout):
        parser.exit(1, f"{options.target} is not healthy: its Redis at {options.redis} does not answer\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
