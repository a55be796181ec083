"""A shopper on one keep-alive HTTP connection, and connections pinned to each gunicorn worker of the gateway.

The bench talks HTTP/1.1 with the standard library's http.client on a persistent connection, exactly as
it measures the bare HTTP floor, so the checkout and its floor are timed the same way.
"""

from __future__ import annotations

import http.client
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import psutil

# The SKU every benchmark cart holds; any product of the catalogue would do.
BENCH_SKU = "COF-ETH-250"
TIMEOUT_S = 10.0
# gunicorn closes a keep-alive connection idle for 2 s; the next request then finds it closed.
_DROPPED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, http.client.CannotSendRequest)


@dataclass(frozen=True)
class Reply:
    """One answer from the gateway, with how long it took from sending the request to reading the body."""

    status: int
    body: Any
    seconds: float

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return 200 <= self.status < 300


class Shopper:
    """One user of the shop on one persistent connection (so on one gunicorn worker)."""

    def __init__(self, host: str, port: int, user_id: str | None = None) -> None:
        self.host = host
        self.port = port
        self.user_id = user_id or f"bench-{uuid.uuid4().hex[:12]}"
        self.connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)

    def request(self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None) -> Reply:
        """Send one request; reconnect once when the server had closed the idle connection."""
        data = json.dumps(body).encode() if body is not None else None
        sent = {"X-User-Id": self.user_id, **({"Content-Type": "application/json"} if data else {}), **(headers or {})}
        try:
            return self._exchange(method, path, data, sent)
        except _DROPPED:
            self.connection.close()
            return self._exchange(method, path, data, sent)

    def _exchange(self, method: str, path: str, data: bytes | None, headers: dict[str, str]) -> Reply:
        started = time.perf_counter()
        self.connection.request(method, path, body=data, headers=headers)
        response = self.connection.getresponse()
        raw = response.read()
        seconds = time.perf_counter() - started
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        return Reply(response.status, body, seconds)

    def add_item(self, sku: str = BENCH_SKU, quantity: int = 1) -> Reply:
        """Put a product in the cart."""
        return self.request("POST", "/api/v1/cart/items", {"sku": sku, "quantity": quantity})

    def checkout(self) -> Reply:
        """Check out the cart with a fresh Idempotency-Key."""
        return self.request("POST", "/api/v1/checkout", headers={"Idempotency-Key": uuid.uuid4().hex})

    def buy(self) -> Reply:
        """Add an item, then check out; the reply (and its time) is the checkout's alone."""
        added = self.add_item()
        if not added.ok:
            return added
        return self.checkout()

    def local_port(self) -> int:
        """The client-side port of the connection (it must be open)."""
        if self.connection.sock is None:
            self.connection.connect()
        return self.connection.sock.getsockname()[1]

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()


def worker_of(local_port: int, workers: list[int]) -> int | None:
    """The pid of the gunicorn worker holding the server side of our connection from local_port."""
    for pid in workers:
        try:
            connections = psutil.Process(pid).net_connections(kind="tcp")
        except psutil.Error:
            continue
        if any(connection.raddr and connection.raddr.port == local_port for connection in connections):
            return pid
    return None


def pin_shoppers(host: str, port: int, workers: list[int], user_id: str, attempts: int = 40) -> dict[int, Shopper]:
    """One shopper per gunicorn worker: open connections until every worker serves one of them.

    Which worker accepts a connection is up to the kernel, so the bench asks the workers (via psutil)
    which of them holds each connection, instead of hoping.
    """
    pinned: dict[int, Shopper] = {}
    for _attempt in range(attempts):
        if len(pinned) == len(workers):
            return pinned
        shopper = Shopper(host, port, user_id)
        shopper.request("GET", "/healthz")
        pid = worker_of(shopper.local_port(), workers)
        if pid is None or pid in pinned:
            shopper.close()
            continue
        pinned[pid] = shopper
    for shopper in pinned.values():
        shopper.close()
    raise RuntimeError(
        f"could not reach every gateway worker ({len(pinned)} of {len(workers)}) in {attempts} connections; "
        "is the gateway overloaded?"
    )
