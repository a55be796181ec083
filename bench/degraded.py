"""Degraded paths: a returning customer's checkout while a soft dependency is broken by a fault rule.

- email down: every email call fails UNAVAILABLE; the gateway's channel retries it, then queues the email.
- pricing slower than its deadline: GetAdjustment takes the deadline + PRICING_EXTRA_MS, so the gateway
  gives up at the deadline and goes on without a discount. While the circuit breaker is closed each
  checkout pays the whole deadline; once it is open the call is not made at all. A checkout is counted
  as "paid the deadline" when it took at least PAID_DEADLINE_SHARE of it: that is how the bench tells
  the two phases apart without looking inside the gateway.

Rules go through the public fault API (FaultStore on the lab's control dir) and are removed afterwards. Each
section starts once every gateway worker checks out with nothing degraded, so no breaker opened by an
earlier section (or by the throughput run) is still open.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from collections.abc import Callable, Iterator

import grpc
from purchase.email.v1 import email_pb2, email_pb2_grpc
from purchase.pricing.v1 import pricing_pb2, pricing_pb2_grpc

from bench.checkout import Timings, returning_shopper
from bench.client import BENCH_SKU, Reply, Shopper, pin_shoppers
from bench.lab import BenchLab
from bench.stats import ratio
from purchase_lab.faults import FaultStore
from purchase_lab.health import wait_until

PRICING_EXTRA_MS = 250
PAID_DEADLINE_SHARE = 0.8
RULE_TTL_S = 300
# Checkouts tried while waiting for a new rule to show in the answers (each process re-reads within ~100 ms).
MAX_WAIT_CHECKOUTS = 200
# After a rule is removed, the service must answer a direct call within this again before the bench goes on,
# so that no later section meets a rule some process has not yet dropped.
CLEAR_CALL_TIMEOUT_S = 0.2
CLEAR_WAIT_S = 5.0
# A breaker opened by one section stays open a few seconds (then tries one call): each section starts
# only once every gateway worker checks out cleanly again.
CLEAN_WAIT_S = 20.0


def _answers(call: Callable[[], object]) -> bool:
    try:
        call()
    except grpc.RpcError:
        return False
    return True


def _direct_call(service: str, channel: grpc.Channel) -> Callable[[], object]:
    """A cheap call straight to the service, that a rule on it fails or slows."""
    if service == "email":
        stub = email_pb2_grpc.EmailServiceStub(channel)
        return lambda: stub.ListOutbox(email_pb2.ListOutboxRequest(limit=1), timeout=CLEAR_CALL_TIMEOUT_S)
    stub = pricing_pb2_grpc.PricingServiceStub(channel)
    request = pricing_pb2.GetAdjustmentRequest(
        user_id="bench-clear", items=[pricing_pb2.LineItem(sku=BENCH_SKU, quantity=1)]
    )
    return lambda: stub.GetAdjustment(request, timeout=CLEAR_CALL_TIMEOUT_S)


def wait_clean(lab: BenchLab) -> None:
    """Wait until every gateway worker places an order with nothing degraded (its breakers closed)."""
    host, port = lab.gateway_address
    workers = pin_shoppers(host, port, lab.gateway_workers(), f"bench-clean-{uuid.uuid4().hex[:8]}")
    try:
        for pid, shopper in workers.items():

            def clean(shopper: Shopper = shopper) -> bool:
                reply = shopper.buy()
                return reply.ok and not _degradations(reply)

            wait_until(clean, f"gateway worker {pid} checking out with nothing degraded", CLEAN_WAIT_S)
    finally:
        for shopper in workers.values():
            shopper.close()


@contextlib.contextmanager
def fault(lab: BenchLab, **fields: object) -> Iterator[None]:
    """A fault rule on the lab while the block runs; afterwards removed, and gone from the service's process."""
    store = FaultStore(lab.control_dir)
    rule = store.add_rule(**fields, ttl_s=RULE_TTL_S)
    try:
        yield
    finally:
        store.remove_rule(rule.id)
        with grpc.insecure_channel(lab.target(rule.service)) as channel:
            call = _direct_call(rule.service, channel)
            wait_until(lambda: _answers(call), f"{rule.service} without fault {rule.id}", CLEAR_WAIT_S)


def _degradations(reply: Reply) -> list[str]:
    body = reply.body if isinstance(reply.body, dict) else {}
    return [
        f"{entry.get('dependency')}:{entry.get('fallback')}:{entry.get('error')}" for entry in body.get("degraded", [])
    ]


def _first_degraded(shopper: Shopper, dependency: str) -> Reply:
    """Check out until an answer names the dependency as degraded: the rule has reached the gateway."""
    for _ in range(MAX_WAIT_CHECKOUTS):
        reply = shopper.buy()
        if any(name.startswith(f"{dependency}:") for name in _degradations(reply)):
            return reply
    raise RuntimeError(f"no checkout was degraded by the {dependency} fault after {MAX_WAIT_CHECKOUTS} tries")


def email_down(lab: BenchLab, count: int) -> dict[str, object]:
    """Checkout latency while every email call fails with UNAVAILABLE, overall and by how the email failed.

    The reasons the answers name tell the checkouts that paid the retries from those email's circuit
    breaker spared, when the gateway names them apart.
    """
    wait_clean(lab)
    shopper = returning_shopper(lab)
    timings = Timings()
    by_reason: dict[str, Timings] = {}
    try:
        with fault(lab, service="email", error="UNAVAILABLE", description="bench: email down"):
            _first_degraded(shopper, "email")
            for _ in range(count):
                reply = shopper.buy()
                timings.add(reply)
                for reason in _degradations(reply) or ["none"]:
                    by_reason.setdefault(reason, Timings()).add(reply)
    finally:
        shopper.close()
    return {
        **timings.report(),
        "by_degradation": {reason: found.report() for reason, found in sorted(by_reason.items())},
    }


def pricing_slow(lab: BenchLab, max_paid: int, open_count: int) -> dict[str, object]:
    """Checkout latency while pricing is slower than its deadline: breaker closed first, then open.

    Stops after open_count checkouts that did not pay the deadline, or after max_paid that did (the
    breaker never opened).
    """
    deadline_ms = lab.settings.pricing_deadline_ms
    wait_clean(lab)
    shopper = returning_shopper(lab)
    phases = {"paid": Timings(), "spared": Timings()}
    reasons: dict[str, Counter[str]] = {"paid": Counter(), "spared": Counter()}
    paid_before_open = None
    slow = {"latency_ms": deadline_ms + PRICING_EXTRA_MS, "description": "bench: pricing slower than its deadline"}
    try:
        with fault(lab, service="pricing", method="GetAdjustment", **slow):
            reply = _first_degraded(shopper, "pricing")
            while len(phases["spared"].seconds) < open_count and len(phases["paid"].seconds) < max_paid:
                phase = "paid" if reply.seconds * 1000 >= PAID_DEADLINE_SHARE * deadline_ms else "spared"
                if phase == "spared" and paid_before_open is None:
                    paid_before_open = len(phases["paid"].seconds)
                phases[phase].add(reply)
                reasons[phase].update(_degradations(reply))
                reply = shopper.buy()
    finally:
        shopper.close()
    return {
        "pricing_deadline_ms": deadline_ms,
        "injected_latency_ms": slow["latency_ms"],
        "breaker_opened": paid_before_open is not None,
        "checkouts_before_open": paid_before_open,
        "breaker_closed": {**phases["paid"].report(), "degradations": dict(reasons["paid"])},
        "breaker_open": {**phases["spared"].report(), "degradations": dict(reasons["spared"])},
    }


def relative(degraded: dict[str, object], happy: dict[str, object]) -> dict[str, float | None]:
    """A degraded path's p50 and p99 as multiples of the happy path's."""
    return {
        "p50_x_happy": ratio(degraded.get("p50_ms"), happy.get("p50_ms")),
        "p99_x_happy": ratio(degraded.get("p99_ms"), happy.get("p99_ms")),
    }


def degraded_report(
    lab: BenchLab, happy: dict[str, object], email_count: int, max_paid: int, open_count: int
) -> dict[str, object]:
    """Both degraded paths, each with its latency relative to the happy path (returning customer, c=1)."""
    email = email_down(lab, email_count)
    pricing = pricing_slow(lab, max_paid, open_count)
    return {
        "happy": {key: happy.get(key) for key in ("n", "p50_ms", "p99_ms")},
        "email_down": {**email, **relative(email, happy)},
        "pricing_slow": {
            **pricing,
            "breaker_closed_vs_happy": relative(pricing["breaker_closed"], happy),
            "breaker_open_vs_happy": relative(pricing["breaker_open"], happy),
        },
    }
