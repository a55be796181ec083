"""The real checkout, timed: at concurrency 1 (one shopper, one connection) and under saturating load.

Each timed iteration adds an item (untimed) and checks out with a fresh Idempotency-Key (timed). The
main path is a returning customer's (no discount): each shopper places one untimed first order before
timing starts. The first-order path (a new user each time, with the first-order discount) is timed too,
in blocks alternating with the returning checkouts of every lab (telemetry on, unsampled and off).
"""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bench import footprint
from bench.client import Reply, Shopper
from bench.lab import BenchLab
from bench.stats import summary


@dataclass
class Timings:
    """Seconds of each answered checkout, and what the others answered."""

    seconds: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    email: Counter[str] = field(default_factory=Counter)
    # CPU seconds the lab's processes spent meanwhile, by service (add-items and idle threads included).
    cpu_s: Counter[str] = field(default_factory=Counter)
    iterations: int = 0

    def add(self, reply: Reply) -> None:
        """Keep a 2xx checkout's time; count anything else by status and error code."""
        if reply.ok:
            self.seconds.append(reply.seconds)
            self.email[str((reply.body or {}).get("email"))] += 1
            return
        code = (reply.body or {}).get("error", {}).get("code") if isinstance(reply.body, dict) else None
        self.failures[f"{reply.status} {code}"] += 1

    def extend(self, other: Timings) -> None:
        """Add another run's timings to these."""
        self.seconds.extend(other.seconds)
        self.failures.update(other.failures)
        self.email.update(other.email)
        self.cpu_s.update(other.cpu_s)
        self.iterations += other.iterations

    def report(self) -> dict[str, object]:
        """p50, p99 and friends in ms, every failure counted, and the lab's CPU per iteration when it was taken."""
        found = {**summary(self.seconds, "ms"), "failures": dict(self.failures), "email": dict(self.email)}
        if self.cpu_s and self.iterations:
            per_service = {name: round(used / self.iterations * 1000, 3) for name, used in sorted(self.cpu_s.items())}
            found["cpu_ms_per_iteration"] = {**per_service, "total": round(sum(per_service.values()), 3)}
        return found


def returning_shopper(lab: BenchLab) -> Shopper:
    """A shopper who has ordered once already (untimed), so each timed checkout is a returning customer's."""
    host, port = lab.gateway_address
    shopper = Shopper(host, port)
    reply = shopper.buy()
    if not reply.ok:
        raise RuntimeError(f"the first (untimed) checkout of {shopper.user_id} failed: {reply.status} {reply.body}")
    return shopper


def time_returning(shopper: Shopper, count: int, lab: BenchLab | None = None) -> Timings:
    """count checkouts of a returning customer, one after the other; with lab, the CPU its processes used."""
    timings = Timings(iterations=count)
    before = footprint.cpu_seconds(lab) if lab is not None else {}
    for _ in range(count):
        timings.add(shopper.buy())
    if lab is not None:
        after = footprint.cpu_seconds(lab)
        timings.cpu_s.update({name: used - before.get(name, 0.0) for name, used in after.items()})
    return timings


def time_first_orders(shopper: Shopper, count: int) -> Timings:
    """count first orders, each by a new user, one after the other on the shopper's connection."""
    timings = Timings()
    for _ in range(count):
        shopper.user_id = f"bench-first-{uuid.uuid4().hex[:12]}"
        timings.add(shopper.buy())
    return timings


Run = Callable[[int], Timings]


def time_alternating(runs: dict[str, tuple[Run, int]], rounds: int) -> dict[str, Timings]:
    """Each run's count of checkouts, taken in `rounds` alternating blocks so a drifting machine hits all alike."""
    found = {name: Timings() for name in runs}
    for _ in range(rounds):
        for name, (run, count) in runs.items():
            found[name].extend(run(max(1, count // rounds)))
    return found


def c1_runs(labs: dict[str, BenchLab], checkouts: int, first_orders: int, rounds: int) -> dict[str, Timings]:
    """At c=1, alternating: returning checkouts on every lab (`returning_<name>`), and first orders on the
    first lab (`first_order`)."""
    shoppers = {name: returning_shopper(lab) for name, lab in labs.items()}
    newcomer = Shopper(*next(iter(labs.values())).gateway_address)
    try:
        time_first_orders(newcomer, 1)  # untimed: the first request warms the worker behind this connection
        runs: dict[str, tuple[Run, int]] = {
            f"returning_{name}": (functools.partial(time_returning, shopper, lab=labs[name]), checkouts)
            for name, shopper in shoppers.items()
        }
        runs["first_order"] = (functools.partial(time_first_orders, newcomer), first_orders)
        return time_alternating(runs, rounds)
    finally:
        for shopper in (*shoppers.values(), newcomer):
            shopper.close()


def throughput(lab: BenchLab, threads: int, seconds: float) -> dict[str, object]:
    """Sustained checkouts per second: `threads` shoppers buying back to back for `seconds`."""
    shoppers = [returning_shopper(lab) for _ in range(threads)]
    results = [Timings() for _ in shoppers]
    start = threading.Barrier(threads + 1)
    deadline: list[float] = []

    def shop(shopper: Shopper, timings: Timings) -> None:
        start.wait()
        while time.monotonic() < deadline[0]:
            timings.add(shopper.buy())

    workers = [
        threading.Thread(target=shop, args=(shopper, timings), name=f"shopper-{index}")
        for index, (shopper, timings) in enumerate(zip(shoppers, results, strict=True))
    ]
    for worker in workers:
        worker.start()
    began = time.monotonic()
    deadline.append(began + seconds)
    start.wait()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - began
    total = Timings()
    for shopper, timings in zip(shoppers, results, strict=True):
        shopper.close()
        total.extend(timings)
    return {
        "threads": threads,
        "seconds": round(elapsed, 3),
        "checkouts": len(total.seconds),
        "checkouts_per_s": round(len(total.seconds) / elapsed, 2),
        "latency": total.report(),
    }
