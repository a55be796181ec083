"""Each named scenario shows, through the real gateway, the effect docs/faults.md promises (fallbacks on)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from purchase_lab.health import wait_until
from tests.conftest import Lab
from tests.integration.faults_lab import (
    clear,
    failure_share,
    new_shopper,
    returning_shopper,
    settle,
    start_lab,
    store,
    timed,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The whole system, one process per service (bad-deploy, which needs replicas, is in test_faults_replicas)."""
    yield from start_lab(tmp_path_factory.mktemp("scenarios"))


@pytest.fixture(autouse=True)
def no_faults_after(lab: Lab) -> Iterator[None]:
    """Every test starts and ends without faults."""
    yield
    clear(lab)


def scenario(lab: Lab, name: str) -> None:
    """Apply a scenario and wait until every process follows it."""
    store(lab).apply_scenario(name)
    settle(lab)


def test_email_down_queues_the_email_and_delivers_it_when_email_is_back(lab: Lab) -> None:
    shopper = new_shopper(lab)
    assert shopper.add("TEA-SEN-100").status == 200
    scenario(lab, "email-down")

    reply = shopper.checkout("email-down")

    assert reply.status == 201
    assert reply.body["email"] == "queued"
    assert [d["dependency"] for d in reply.body["degraded"]] == ["email"]
    clear(lab)  # the outbox can be read again, and the relay delivers what was queued
    order_id = reply.body["order_id"]
    wait_until(
        lambda: [email.order_id for email in shopper.outbox()] == [order_id] * 2,
        "the queued confirmation and discount emails to be delivered",
        timeout=5,
    )


def test_pricing_slow_costs_a_returning_user_the_deadline_and_no_discount(lab: Lab) -> None:
    shopper = returning_shopper(lab)
    scenario(lab, "pricing-slow")

    elapsed, reply = timed(lambda: shopper.checkout("slow"))

    assert reply.status == 201
    assert reply.body["adjustment_cents"] == 0
    assert reply.body["degraded"] == [
        {"dependency": "pricing", "fallback": "no_adjustment", "error": "DEADLINE_EXCEEDED"}
    ]
    assert elapsed < 1.5  # the 500 ms deadline, not the 2 to 2.5 s of latency


def test_pricing_slow_asks_a_first_time_buyer_to_try_again(lab: Lab) -> None:
    shopper = new_shopper(lab)
    assert shopper.add("COF-ETH-250").status == 200
    scenario(lab, "pricing-slow")

    reply = shopper.checkout("slow-first")

    assert reply.status == 503
    assert "please try again" in reply.body["error"]["message"]
    assert shopper.orders() == []


def test_cart_crash_fails_the_cart_and_checkout_with_a_retryable_503(lab: Lab) -> None:
    shopper = new_shopper(lab)
    assert shopper.add("COF-ETH-250").status == 200
    scenario(lab, "cart-crash")

    cart, checkout = shopper("GET", "/api/v1/cart"), shopper.checkout("crash")

    for reply in (cart, checkout):
        assert reply.status == 503
        assert (reply.body["error"]["dependency"], reply.body["error"]["retryable"]) == ("cart", True)
    clear(lab)
    assert shopper.orders() == []


def test_pricing_flaky_fails_30_percent_of_pricing_calls_but_retries_hide_most(lab: Lab) -> None:
    scenario(lab, "pricing-flaky")
    calls = 300
    pricing_log = len(lab.logs("pricing"))

    share = failure_share(lab, "/api/v1/products", calls)

    injected = len(re.findall(r"fault f-\w+ fired", lab.logs("pricing")[pricing_log:]))
    assert share < 0.1  # about 0.3 ** 3 = 3%: only calls whose three attempts all fail
    assert injected > 0.25 * calls  # pricing itself failed about 0.3 * 1.39 calls per request


def test_promo_bug_fails_only_the_users_with_the_code(lab: Lab) -> None:
    with_code, without = new_shopper(lab), new_shopper(lab)
    for shopper in (with_code, without):
        assert shopper.add("COF-ETH-250").status == 200
    assert with_code("POST", "/api/v1/cart/promo", {"code": "SPRING15"}).status == 200
    scenario(lab, "promo-bug")

    failed, placed = with_code.checkout("promo"), without.checkout("promo")

    assert failed.status == 503
    assert "please try again" in failed.body["error"]["message"]
    assert (placed.status, placed.body["degraded"]) == (201, [])
    assert placed.body["adjustment_cents"] > 0  # the first-order discount still comes from pricing
    assert new_shopper(lab)("POST", "/api/v1/cart/promo", {"code": "SPRING15"}).status == 503
