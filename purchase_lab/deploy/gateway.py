"""Redeploy the gateway with no failed request: gunicorn's graceful replacement of its workers.

On SIGHUP, gunicorn's arbiter (which holds the listening socket) starts new workers, which build the app
anew from the code on disk, and then stops the old ones gracefully: each finishes its requests first.
No connection is refused meanwhile, since the socket never closes. The arbiter keeps its environment, so
this redeploys the release it runs; a change of gateway release would need a second gateway on the port.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from purchase_lab.health import http_ok

POLL_SECONDS = 0.2


def workers_of(pid: int) -> set[int]:
    """The child processes (gunicorn workers) of a process, from /proc."""
    try:
        return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except FileNotFoundError:
        return set()


def replace_workers(arbiter: int, health_url: str, timeout: float = 60.0) -> tuple[int, float]:
    """Send the arbiter SIGHUP and wait until every old worker is gone and new ones serve; return (workers, s)."""
    old = workers_of(arbiter)
    began = time.monotonic()
    os.kill(arbiter, signal.SIGHUP)
    while time.monotonic() - began < timeout:
        now = workers_of(arbiter)
        if now and not now & old and len(now) >= len(old) and http_ok(health_url):
            return len(now), time.monotonic() - began
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"the gateway's workers were not all replaced within {timeout:.0f} s")
