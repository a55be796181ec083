"""Continuous checkouts against a running gateway, counting the failed ones: the traffic a deploy is judged under.

Each shopper is a new user who adds one item and checks out; a checkout that does not place an order
(any answer but 201, or no answer) is a failure. Bounded: it stops when asked, after `max_seconds`, or
after `max_checkouts`, and only ever talks to the address it is given (a lab on this machine).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field

TIMEOUT = 10.0


@dataclass
class CheckoutTally:
    """What the shoppers saw: checkouts placed, failed (with their answers), and when."""

    placed: int = 0
    failed: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def total(self) -> int:
        """Every checkout attempted."""
        return self.placed + len(self.failed)


class Shoppers:
    """`workers` threads checking out one after the other until stopped."""

    def __init__(
        self, gateway: str, workers: int = 3, max_seconds: float = 300.0, max_checkouts: int = 20000, sku: str = ""
    ) -> None:
        self.gateway = gateway.rstrip("/")
        self.tally = CheckoutTally()
        self._workers = workers
        self._deadline = time.monotonic() + max_seconds
        self._max = max_checkouts
        self._sku = sku
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Shoppers:
        self._sku = self._sku or self._call("GET", "/api/v1/products", "catalogue")[1]["products"][0]["sku"]
        for number in range(self._workers):
            thread = threading.Thread(target=self._shop, name=f"shopper-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> CheckoutTally:
        """Stop every shopper after its current checkout; return the tally."""
        self._stopping.set()
        for thread in self._threads:
            thread.join()
        return self.tally

    def wait_for(self, checkouts: int, timeout: float = 60.0) -> None:
        """Block until at least `checkouts` more checkouts were attempted (traffic is flowing)."""
        target = self.tally.total + checkouts
        deadline = time.monotonic() + timeout
        while self.tally.total < target:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.tally.total} checkouts in {timeout} s")
            time.sleep(0.05)

    def _shop(self) -> None:
        while not self._stopping.is_set() and time.monotonic() < self._deadline and self.tally.total < self._max:
            outcome = self._checkout()
            with self.tally.lock:
                if outcome is None:
                    self.tally.placed += 1
                else:
                    self.tally.failed.append(outcome)

    def _checkout(self) -> str | None:
        """One new user's checkout; None when it placed an order, else what went wrong."""
        user = f"deploy-{uuid.uuid4().hex[:12]}"
        status, body = self._call("POST", "/api/v1/cart/items", user, {"sku": self._sku, "quantity": 1})
        if status != 200:
            return f"add item: {status} {body}"
        status, body = self._call("POST", "/api/v1/checkout", user, key=uuid.uuid4().hex)
        return None if status == 201 else f"checkout: {status} {body}"

    def _call(self, method: str, path: str, user: str, body: object = None, key: str = "") -> tuple[int, dict]:
        headers = {"X-User-Id": user, "Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.gateway + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as reply:
                return reply.status, json.loads(reply.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, {"error": error.read().decode(errors="replace")[:200]}
        except (urllib.error.URLError, OSError) as error:
            return 0, {"error": str(error)}
