"""A scripted story for the metrics: steady load, email down for a while, the loyalty discount ramped to 50%.

Shoppers check out as new customers, then again as returning ones, some with a Home product (the
loyalty defect's trigger) or a promo code. Between phases the load pauses until every shopper is
idle and each process's /metrics is read directly: the counters' truth for that phase, to hold the
panels to. The pauses also keep phases apart in Prometheus's windows.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from purchase_lab.faults import FaultStore
from purchase_lab.flags import CHECKOUT_FALLBACKS, LIVE_FILE_NAME, LOYALTY_DISCOUNT, ramp
from purchase_lab.topology import GRPC_SERVICES
from tests.conftest import Lab
from tests.integration.test_shop import call
from tests.telemetry.scrape import Scrape, scrape

log = logging.getLogger(__name__)

EVERYDAY_SKUS = ("COF-ETH-250", "COF-COL-500", "TEA-SEN-100", "TEA-ASM-250", "BRW-V60-02", "BRW-FLT-100")
HOME_SKUS = ("HOM-MUG-350", "HOM-CDL-CDR", "HOM-TWL-LIN", "HOM-CST-OAK")
HOME_SHARE = 0.25
PROMO_SHARE = 0.3
SHOPPERS = 4
# Each shopper starts at most one visit (two checkouts) this often: a bounded load on a shared machine.
VISIT_SECONDS = 0.7
# The processes that serve /metrics.
PROCESSES = ("gateway", *GRPC_SERVICES)
# The quiet gap between phases: long enough that a window can start in it, clear of both phases.
GAP_SECONDS = 3.0


@dataclass
class Phase:
    """One phase of the story: when the load ran, and the counters before and after it."""

    name: str
    started: float
    ended: float
    before: dict[str, Scrape]
    after: dict[str, Scrape]
    replies: Counter[int] = field(default_factory=Counter)

    @property
    def seconds(self) -> float:
        """How long the load ran."""
        return self.ended - self.started

    def moved(self, process: str, metric: str, **labels: str) -> float:
        """How much a counter of one process (summed over its workers) moved during the phase."""
        return self.after[process].value(metric, **labels) - self.before[process].value(metric, **labels)


class Load:
    """Shoppers in threads, checking out until paused; each pause waits until all of them are idle."""

    def __init__(self, lab: Lab, seed: int = 22) -> None:
        self._lab = lab
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._running = threading.Event()
        self._stopping = threading.Event()
        self._busy = 0
        self._idle = threading.Condition(self._lock)
        self.replies: Counter[int] = Counter()
        self._threads = [threading.Thread(target=self._shop, daemon=True) for _ in range(SHOPPERS)]
        for thread in self._threads:
            thread.start()

    def resume(self) -> None:
        """Let the shoppers go on."""
        self._running.set()

    def pause(self) -> Counter[int]:
        """Stop the shoppers after their current visit; return the status codes of the checkouts since resume."""
        self._running.clear()
        with self._idle:
            self._idle.wait_for(lambda: self._busy == 0, timeout=60)
            replies, self.replies = self.replies, Counter()
        return replies

    def stop(self) -> None:
        """End the threads."""
        self._stopping.set()
        self._running.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _shop(self) -> None:
        while not self._stopping.is_set():
            self._running.wait()
            with self._lock:
                if not self._running.is_set() or self._stopping.is_set():
                    continue
                self._busy += 1
                home, promo = self._random.random() < HOME_SHARE, self._random.random() < PROMO_SHARE
                everyday = self._random.choice(EVERYDAY_SKUS)
            started = time.monotonic()
            try:
                self._visit(home, promo, everyday)
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()
            time.sleep(max(0.0, VISIT_SECONDS - (time.monotonic() - started)))

    def _visit(self, home: bool, promo: bool, everyday: str) -> None:
        """A new customer's first order, then a second as a returning customer."""
        user = f"u-story-{uuid.uuid4().hex[:12]}"
        self._send(user, "POST", "/api/v1/cart/items", {"sku": everyday, "quantity": 1})
        self._checkout(user)
        self._send(user, "POST", "/api/v1/cart/items", {"sku": everyday, "quantity": 2})
        if home:
            self._send(
                user, "POST", "/api/v1/cart/items", {"sku": HOME_SKUS[len(user) % len(HOME_SKUS)], "quantity": 1}
            )
        if promo:
            self._send(user, "POST", "/api/v1/cart/promo", {"code": "SPRING15"})
        self._checkout(user)

    def _checkout(self, user: str) -> None:
        status = self._send(user, "POST", "/api/v1/checkout", Idempotency_Key=uuid.uuid4().hex)
        with self._lock:
            self.replies[status] += 1

    def _send(self, user: str, method: str, path: str, body: object = None, **headers: str) -> int:
        return call(self._lab, method, path, body, X_User_Id=user, **headers).status


def scrape_lab(lab: Lab) -> dict[str, Scrape]:
    """Every process's /metrics, read directly."""
    return {name: scrape(lab.metrics_url(name)) for name in PROCESSES}


@dataclass
class Story:
    """What happened: each phase with its truth, the story's start and end, and the whole story's truth."""

    started: float
    phases: dict[str, Phase]
    ended: float
    start: dict[str, Scrape]
    end: dict[str, Scrape]

    def moved(self, process: str, metric: str, **labels: str) -> float:
        """How much a counter of one process moved over the whole story."""
        return self.end[process].value(metric, **labels) - self.start[process].value(metric, **labels)


def run_story(lab: Lab, steady: float = 20, outage: float = 25, recovery: float = 10, ramped: float = 25) -> Story:
    """Run the story against lab; about steady + outage + recovery + ramped seconds, plus the gaps."""
    control = Path(lab.env["PURCHASE_CONTROL_DIR"])
    faults = FaultStore(control)
    flags = control / LIVE_FILE_NAME
    load = Load(lab)
    phases: dict[str, Phase] = {}
    start = scrape_lab(lab)
    started = time.time()
    # Half the shoppers get the original checkout, so the outage has something to cost.
    ramp(CHECKOUT_FALLBACKS, 50, flags)
    try:
        for name, seconds, change in (
            ("steady", steady, None),
            ("outage", outage, lambda: faults.apply_scenario("email-down")),
            ("recovery", recovery, lambda: faults.clear("email")),
            ("ramp", ramped, lambda: ramp(LOYALTY_DISCOUNT, 50, flags)),
        ):
            if change is not None:
                change()
            time.sleep(GAP_SECONDS)  # the change reaches every process, and the phases stay apart
            before = scrape_lab(lab)
            began = time.time()
            load.resume()
            time.sleep(seconds)
            replies = load.pause()
            phases[name] = Phase(name, began, time.time(), before, scrape_lab(lab), replies)
            log.info("story: %s phase ran %.1f s, checkouts by status %s", name, phases[name].seconds, dict(replies))
    finally:
        load.stop()
    time.sleep(GAP_SECONDS)
    return Story(started, phases, time.time(), start, scrape_lab(lab))
