"""A dependency slower than its deadline, against the real processes: the checkout answers within its budget,
then the breaker opens and checkouts stop paying the deadline; it closes again once the dependency is back.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from purchase.email.v1 import email_pb2

from purchase_lab.flags import CHECKOUT_FALLBACKS
from purchase_lab.health import wait_until
from tests.conftest import FlagVariant, Lab
from tests.integration.conftest import restore
from tests.integration.faults_lab import add, clear
from tests.integration.test_checkout import fallbacks_served, shopper_with_cart
from tests.integration.test_shop import Reply, Shopper, call

pytestmark = pytest.mark.integration

PRICING_DEADLINE_S = 0.4
BUDGET_S = 2.5
FAILURES_TO_OPEN = 3
OPEN_S = 2.0
CONFIRMATION = email_pb2.EMAIL_KIND_ORDER_CONFIRMATION


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The whole system with a 400 ms pricing deadline, and breakers that open at the third failure for 2 s."""
    env = {
        "PURCHASE_CART_DEADLINE_MS": "2000",
        "PURCHASE_EMAIL_DEADLINE_MS": "2000",
        "PURCHASE_PRICING_DEADLINE_MS": str(int(PRICING_DEADLINE_S * 1000)),
        "PURCHASE_CHECKOUT_BUDGET_MS": str(int(BUDGET_S * 1000)),
        "PURCHASE_BREAKER_FAILURES": str(FAILURES_TO_OPEN),
        "PURCHASE_BREAKER_OPEN_MS": str(int(OPEN_S * 1000)),
    }
    system = Lab(tmp_path_factory.mktemp("breaker"), env=env)
    try:
        yield system.start()
    finally:
        system.stop()


@pytest.fixture(autouse=True)
def closed_breakers(lab: Lab, flags_path: Path) -> Iterator[None]:
    """Every test leaves the lab as committed, with no faults, and its breakers closed again."""
    yield
    restore(lab)
    wait_until(
        lambda: all(breaker(lab, name)["state"] != "open" for name in ("pricing", "email")),
        "the breakers letting a trial call through",
        timeout=OPEN_S + 3,
    )
    # A first order calls pricing and email: each trial succeeds and closes its breaker.
    shopper_with_cart(lab, eligible=False)
    assert [breaker(lab, name)["state"] for name in ("pricing", "email")] == ["closed", "closed"]


def timed_checkout(shopper: Shopper) -> tuple[float, Reply]:
    """Seconds a checkout took, and its reply."""
    started = time.monotonic()
    reply = shopper.checkout("k")
    return time.monotonic() - started, reply


def breaker(lab: Lab, name: str) -> dict[str, Any]:
    """A breaker of the gateway's (one) worker, as GET /healthz shows it."""
    return call(lab, "GET", "/healthz").body["breakers"][name]


def test_pricing_slower_than_its_deadline_costs_the_deadline_until_the_breaker_opens(
    lab: Lab, flag_variants: FlagVariant
) -> None:
    on = flag_variants.apply(CHECKOUT_FALLBACKS)
    wait_until(lambda: fallbacks_served(lab) is on, "the gateway serving the flag", timeout=3)
    shoppers = [shopper_with_cart(lab, eligible=False) for _ in range(FAILURES_TO_OPEN + 2)]
    add(lab, service="pricing", method="GetAdjustment", latency_ms=1500)

    timed = [timed_checkout(shopper) for shopper in shoppers]

    waited, tripped = timed[:FAILURES_TO_OPEN], timed[FAILURES_TO_OPEN:]
    for seconds, reply in waited:
        assert PRICING_DEADLINE_S <= seconds < BUDGET_S
        if on:
            assert (reply.status, reply.body["degraded"][0]["error"]) == (201, "DEADLINE_EXCEEDED")
        else:
            assert (reply.status, reply.body["error"]["dependency"]) == (503, "pricing")
    for seconds, reply in tripped:
        assert seconds < PRICING_DEADLINE_S
        if on:
            assert (reply.status, reply.body["degraded"][0]["error"]) == (201, "BREAKER_OPEN")
        else:
            assert (reply.status, reply.body["error"]["dependency"]) == (503, "pricing")
            assert "circuit breaker is open" in reply.body["error"]["message"]
    assert breaker(lab, "pricing")["state"] == "open"


def test_the_breaker_closes_once_pricing_answers_in_time_again(lab: Lab) -> None:
    shoppers = [shopper_with_cart(lab, eligible=False) for _ in range(FAILURES_TO_OPEN)]
    opened_before = breaker(lab, "pricing")["opened_total"]
    add(lab, service="pricing", method="GetAdjustment", latency_ms=1500)
    for shopper in shoppers:
        shopper.checkout("k")
    assert breaker(lab, "pricing")["state"] == "open"
    clear(lab)
    owed = shopper_with_cart(lab, eligible=True)

    refused = owed.checkout("k")
    wait_until(lambda: breaker(lab, "pricing")["state"] == "half_open", "the breaker half open", timeout=OPEN_S + 2)
    placed = owed.checkout("k")

    assert (refused.status, refused.body["error"]["dependency"]) == (503, "pricing")
    assert (placed.status, placed.body["adjustment_reason"], placed.body["degraded"]) == (
        201,
        "10% off your first order",
        [],
    )
    assert breaker(lab, "pricing") == {"state": "closed", "consecutive_failures": 0, "opened_total": opened_before + 1}


def test_email_down_opens_its_breaker_and_the_relay_delivers_once_email_is_back(lab: Lab) -> None:
    shoppers = [shopper_with_cart(lab, eligible=False) for _ in range(FAILURES_TO_OPEN + 1)]
    lab.processes["email"].kill()

    replies = [shopper.checkout("k") for shopper in shoppers]

    assert [(reply.status, reply.body["email"]) for reply in replies] == [(201, "queued")] * len(shoppers)
    assert replies[-1].body["degraded"][0]["error"] == "BREAKER_OPEN"
    assert breaker(lab, "email")["state"] == "open"
    lab.start("email")
    for shopper, reply in zip(shoppers, replies, strict=True):
        wait_until(
            lambda s=shopper, r=reply: s.emails(r.body["order_id"]) == [CONFIRMATION], "the confirmation", timeout=10
        )
