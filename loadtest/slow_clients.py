"""Slow and idle clients against the gateway, and how normal requests fare meanwhile (a slowloris drill).

`slow` connections send a request line and then their headers one byte a second, never finishing; `idle`
connections open and send nothing. Whenever the server closes one, it is opened again, so the pressure
stays the same for the whole run. Meanwhile a few normal clients send GET requests one after another and
record how long each took. Run by the edge tests and by `python -m loadtest.slow_clients URL`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from loadtest.report import percentiles

# Seconds between two bytes of a slow client's headers.
DRIP_INTERVAL_S = 1.0
# A normal request slower than this counts as failed.
NORMAL_TIMEOUT_S = 5.0
NORMAL_CLIENTS = 2
# Seconds between two requests of one normal client, so the drill measures latency, not throughput.
NORMAL_PAUSE_S = 0.02


@dataclass
class DrillResult:
    """What the normal clients saw while slow and idle clients held connections."""

    slow: int
    idle: int
    seconds: float
    latencies_s: list[float] = field(default_factory=list)
    failures: int = 0
    closed_by_server: int = 0

    @property
    def p99_ms(self) -> float:
        """99th percentile latency of the normal requests that succeeded, in ms (infinite when none did)."""
        return percentiles(self.latencies_s).get("p99", float("inf")) * 1000

    def summary(self) -> dict[str, object]:
        """The figures as a JSON-ready dict."""
        return {
            "slow_connections": self.slow,
            "idle_connections": self.idle,
            "seconds": self.seconds,
            "normal_requests": len(self.latencies_s) + self.failures,
            "normal_failures": self.failures,
            **{f"{name}_ms": round(value * 1000, 1) for name, value in percentiles(self.latencies_s).items()},
            "closed_by_server": self.closed_by_server,
        }


class Holders:
    """The slow and idle connections, kept open (reopened when the server closes one) from one thread."""

    def __init__(self, address: tuple[str, int], slow: int, idle: int) -> None:
        self.address = address
        self.selector = selectors.DefaultSelector()
        self.slow: set[socket.socket] = set()
        self.closed_by_server = 0
        for _ in range(slow):
            self._open(slow=True)
        for _ in range(idle):
            self._open(slow=False)

    def _open(self, *, slow: bool) -> None:
        sock = socket.create_connection(self.address, timeout=NORMAL_TIMEOUT_S)
        sock.setblocking(False)
        if slow:
            sock.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            self.slow.add(sock)
        self.selector.register(sock, selectors.EVENT_READ, slow)

    def _reopen(self, sock: socket.socket, slow: bool) -> None:
        self.closed_by_server += 1
        self.selector.unregister(sock)
        self.slow.discard(sock)
        sock.close()
        self._open(slow=slow)

    def run(self, until: float) -> None:
        """Drip a byte into every slow connection each interval, and reopen those the server closed."""
        next_drip = time.monotonic() + DRIP_INTERVAL_S
        while time.monotonic() < until:
            for key, _ in self.selector.select(timeout=min(0.2, max(0.0, next_drip - time.monotonic()))):
                # Anything readable is either the server's answer (an error) or its close: either way it is done.
                self._reopen(key.fileobj, key.data)  # type: ignore[arg-type]
            if time.monotonic() >= next_drip:
                next_drip += DRIP_INTERVAL_S
                for sock in list(self.slow):
                    try:
                        sock.send(b"a")
                    except OSError:
                        self._reopen(sock, True)

    def close(self) -> None:
        """Close every held connection."""
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self.selector.close()


def normal_client(address: tuple[str, int], path: str, until: float, result: DrillResult, lock: threading.Lock) -> None:
    """Send GET path one after another until `until`, recording each latency (or a failure)."""
    while time.monotonic() < until:
        began = time.monotonic()
        try:
            connection = http.client.HTTPConnection(*address, timeout=NORMAL_TIMEOUT_S)
            connection.request("GET", path, headers={"X-User-Id": "drill"})
            ok = connection.getresponse().status == 200
            connection.close()
        except OSError:
            ok = False
        with lock:
            if ok:
                result.latencies_s.append(time.monotonic() - began)
            else:
                result.failures += 1
        time.sleep(NORMAL_PAUSE_S)


def drill(base_url: str, slow: int, idle: int, seconds: float, path: str = "/healthz") -> DrillResult:
    """Hold `slow` slow-header and `idle` idle connections for `seconds` while normal clients GET path."""
    parts = urlsplit(base_url)
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    result = DrillResult(slow, idle, seconds)
    holders = Holders(address, slow, idle)
    until = time.monotonic() + seconds
    lock = threading.Lock()
    clients = [
        threading.Thread(target=normal_client, args=(address, path, until, result, lock), daemon=True)
        for _ in range(NORMAL_CLIENTS)
    ]
    for client in clients:
        client.start()
    try:
        holders.run(until)
    finally:
        for client in clients:
            client.join(NORMAL_TIMEOUT_S + 1)
        result.closed_by_server = holders.closed_by_server
        holders.close()
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the drill against a running gateway and print its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url", help="the gateway's base URL, such as http://127.0.0.1:8080")
    parser.add_argument("--slow", type=int, default=200)
    parser.add_argument("--idle", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--path", default="/healthz")
    args = parser.parse_args(argv)
    print(json.dumps(drill(args.url, args.slow, args.idle, args.seconds, args.path).summary(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
