"""The circuit breakers of the checkout's soft dependencies: when they open, what an open one means in each
column of the table, half open and closing again, and the email relay going through the email breaker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from flask import Flask
from flask.testing import FlaskClient

from purchase_lab.health import wait_until
from services.gateway.email_queue import EmailRelay
from tests.gateway.conftest import Fakes, checkout, error_of, fill_cart, resources
from tests.gateway.test_checkout_resilience import INTERNAL, degraded_of, returning_customers

pytestmark = pytest.mark.functional

# Breakers that open at the second failure in a row and stay open for the whole test.
STAYS_OPEN = {"PURCHASE_BREAKER_FAILURES": "2", "PURCHASE_BREAKER_OPEN_MS": "60000"}
# Breakers that open at the first failure and let a trial call through soon after.
REOPENS_SOON = {"PURCHASE_BREAKER_FAILURES": "1", "PURCHASE_BREAKER_OPEN_MS": "200"}


def breaker(client: FlaskClient, name: str) -> dict[str, Any]:
    """A breaker as GET /healthz shows it."""
    return client.get("/healthz").get_json()["breakers"][name]


def test_pricing_failing_opens_its_breaker_and_checkouts_stop_calling_it(
    make_app: Callable[..., Flask], fakes: Fakes
) -> None:
    client = make_app(**STAYS_OPEN).test_client()
    first, second, third = returning_customers(client, fakes, 3)
    fakes.pricing.faults.fail("GetAdjustment", INTERNAL)

    assert degraded_of(checkout(client, first)) == [("pricing", "no_adjustment", "INTERNAL")]
    assert breaker(client, "pricing") == {"state": "closed", "consecutive_failures": 1, "opened_total": 0}
    assert degraded_of(checkout(client, second)) == [("pricing", "no_adjustment", "INTERNAL")]
    started = time.monotonic()
    reply = checkout(client, third)

    assert time.monotonic() - started < 0.5
    assert degraded_of(reply) == [("pricing", "no_adjustment", "BREAKER_OPEN")]
    assert reply.get_json()["total_cents"] == 4499
    assert fakes.pricing.faults.calls["GetAdjustment"] == 2
    assert breaker(client, "pricing") == {"state": "open", "consecutive_failures": 2, "opened_total": 1}


def test_an_open_pricing_breaker_asks_an_eligible_user_to_retry_without_calling_pricing(
    make_app: Callable[..., Flask], fakes: Fakes, user_id: str
) -> None:
    client = make_app(**STAYS_OPEN).test_client()
    returning = returning_customers(client, fakes, 2)
    fill_cart(client, user_id)
    fakes.pricing.faults.fail("GetAdjustment", INTERNAL)
    for user in returning:
        checkout(client, user)

    reply = checkout(client, user_id)

    assert reply.status_code == 503
    assert error_of(reply)["message"] == "pricing is unavailable and you are eligible for a discount; please try again"
    assert fakes.pricing.faults.calls["GetAdjustment"] == 2
    assert fakes.cart.orders.get(user_id) is None


def test_with_fallbacks_off_an_open_breaker_fails_the_checkout_at_once(
    make_app: Callable[..., Flask], fakes: Fakes
) -> None:
    client = make_app(fallbacks=False, **STAYS_OPEN).test_client()
    users = returning_customers(client, fakes, 3)
    fakes.pricing.faults.fail("GetAdjustment", INTERNAL)
    for user in users[:2]:
        assert checkout(client, user).status_code == 503

    reply = checkout(client, users[2])

    assert reply.status_code == 503
    assert reply.headers["Retry-After"] == "1"
    assert error_of(reply) == {
        "code": "dependency_unavailable",
        "message": "pricing has been failing, so its circuit breaker is open: the checkout did not call it and "
        "nothing was ordered; please try again in 60 s",
        "retryable": True,
        "dependency": "pricing",
    }
    assert fakes.pricing.faults.calls["GetAdjustment"] == 2
    assert fakes.cart.faults.calls["PlaceOrder"] == 0


def test_contract_errors_never_open_the_breaker(make_app: Callable[..., Flask], fakes: Fakes) -> None:
    client = make_app(**STAYS_OPEN).test_client()
    users = returning_customers(client, fakes, 3)
    fakes.pricing.faults.fail("GetAdjustment", grpc.StatusCode.NOT_FOUND)

    errors = [degraded_of(checkout(client, user))[0][2] for user in users]

    assert errors == ["NOT_FOUND"] * 3
    assert fakes.pricing.faults.calls["GetAdjustment"] == 3
    assert breaker(client, "pricing")["state"] == "closed"


def test_a_half_open_breaker_closes_when_its_trial_call_succeeds(make_app: Callable[..., Flask], fakes: Fakes) -> None:
    client = make_app(**REOPENS_SOON).test_client()
    first, second = returning_customers(client, fakes, 2)
    fakes.pricing.faults.fail("GetAdjustment", INTERNAL)
    checkout(client, first)
    assert breaker(client, "pricing")["state"] == "open"
    fakes.pricing.faults.recover()
    wait_until(lambda: breaker(client, "pricing")["state"] == "half_open", "the breaker half open", timeout=2)

    reply = checkout(client, second)

    assert degraded_of(reply) == []
    assert fakes.pricing.faults.calls["GetAdjustment"] == 2
    assert breaker(client, "pricing") == {"state": "closed", "consecutive_failures": 0, "opened_total": 1}


def test_a_half_open_breaker_opens_again_when_its_trial_call_fails(
    make_app: Callable[..., Flask], fakes: Fakes
) -> None:
    client = make_app(**REOPENS_SOON).test_client()
    first, second, third = returning_customers(client, fakes, 3)
    fakes.pricing.faults.fail("GetAdjustment", INTERNAL)
    checkout(client, first)
    wait_until(lambda: breaker(client, "pricing")["state"] == "half_open", "the breaker half open", timeout=2)

    trial = checkout(client, second)
    refused = checkout(client, third)

    assert degraded_of(trial) == [("pricing", "no_adjustment", "INTERNAL")]
    assert degraded_of(refused) == [("pricing", "no_adjustment", "BREAKER_OPEN")]
    assert fakes.pricing.faults.calls["GetAdjustment"] == 2
    assert breaker(client, "pricing") == {"state": "open", "consecutive_failures": 2, "opened_total": 2}


def test_an_open_email_breaker_queues_without_calling_email_or_cancels_with_fallbacks_off(
    make_app: Callable[..., Flask], fakes: Fakes
) -> None:
    resilient, original = make_app(**STAYS_OPEN), make_app(fallbacks=False, **STAYS_OPEN)
    for app in (resilient, original):
        resources(app).relay.stop()
    users = returning_customers(resilient.test_client(), fakes, 4)
    fakes.email.faults.fail("*", INTERNAL)
    # Two failures in a row open each app's email breaker.
    for column, app in (("resilient", resilient), ("original", original)):
        for user in users[:2]:
            fill_cart(app.test_client(), user)
            checkout(app.test_client(), user, key=f"opening-{column}")
    fakes.email.faults.calls.clear()

    queued = checkout(resilient.test_client(), users[2])
    cancelled = checkout(original.test_client(), users[3])

    assert (queued.get_json()["email"], degraded_of(queued)) == ("queued", [("email", "queued", "BREAKER_OPEN")])
    assert cancelled.status_code == 503
    assert error_of(cancelled)["code"] == "order_cancelled"
    assert error_of(cancelled)["message"].startswith("the confirmation email could not be sent (email: BREAKER_OPEN)")
    assert fakes.email.faults.calls["SendOrderConfirmation"] == 0
    assert [breaker(app.test_client(), "email")["state"] for app in (resilient, original)] == ["open", "open"]


def test_the_relay_does_not_call_email_while_its_breaker_is_open_and_delivers_after(
    make_app: Callable[..., Flask], fakes: Fakes, redis_url: str
) -> None:
    app = make_app(**REOPENS_SOON)
    gateway = resources(app)
    gateway.relay.stop()
    gateway.email_queue.create_group()
    relay = EmailRelay(gateway.email_queue, redis_url, gateway.downstreams.email)
    client = app.test_client()
    [user] = returning_customers(client, fakes, 1)
    fakes.email.faults.fail("*", INTERNAL)
    order_id = checkout(client, user).get_json()["order_id"]

    assert relay.relay_once() == 0
    assert fakes.email.faults.calls["SendOrderConfirmation"] == 1
    fakes.email.faults.recover()
    wait_until(lambda: relay.relay_once() == 1, "the relay delivering once the breaker lets a call through", 5)
    assert [message.order_id for message in fakes.email.outbox] == [order_id]
    assert gateway.email_queue.backlog() == 0
    assert breaker(client, "email")["state"] == "closed"
