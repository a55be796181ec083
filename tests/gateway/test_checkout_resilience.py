"""What keeps a failing dependency from costing the checkout too much: deadlines and the time budget; the
email queue delivering what the checkout could not send; and the checkout's metrics.

The circuit breakers are in test_checkout_breakers.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import grpc
import pytest
from flask import Flask
from flask.testing import FlaskClient
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from purchase_lab.flags import LOYALTY_DISCOUNT
from purchase_lab.health import wait_until
from purchase_lab.telemetry import Telemetry, setup_telemetry
from tests.gateway.conftest import Fakes, checkout, error_of, fill_cart, place_earlier_order, resources

pytestmark = pytest.mark.functional

INTERNAL = grpc.StatusCode.INTERNAL


def returning_customers(client: FlaskClient, fakes: Fakes, count: int) -> list[str]:
    """Users with one order placed (so owed no discount) and a filled cart."""
    users = [f"returning-{time.monotonic_ns()}-{number}" for number in range(count)]
    for user in users:
        place_earlier_order(fakes, client, user)
        fill_cart(client, user)
    fakes.pricing.faults.calls.clear()
    fakes.email.faults.calls.clear()
    return users


def degraded_of(reply) -> list[tuple[str, str, str]]:
    """(dependency, fallback, error) of each degradation a checkout answered with."""
    assert reply.status_code == 201, reply.get_json()
    return [(d["dependency"], d["fallback"], d["error"]) for d in reply.get_json()["degraded"]]


def test_a_slow_pricing_costs_an_ineligible_user_at_most_its_deadline(
    make_app: Callable[..., Flask], fakes: Fakes, user_id: str
) -> None:
    client = make_app(PURCHASE_PRICING_DEADLINE_MS="100").test_client()
    place_earlier_order(fakes, client, user_id)
    fill_cart(client, user_id)
    fakes.pricing.faults.slow("GetAdjustment", 1.0)

    started = time.monotonic()
    reply = checkout(client, user_id)

    assert time.monotonic() - started < 0.8
    assert degraded_of(reply) == [("pricing", "no_adjustment", "DEADLINE_EXCEEDED")]
    assert (reply.get_json()["adjustment_cents"], reply.get_json()["total_cents"]) == (0, 4499)


def test_email_down_queues_the_emails_and_the_relay_delivers_them_when_email_recovers(
    client: FlaskClient, fakes: Fakes, user_id: str, app: Flask
) -> None:
    fill_cart(client, user_id)
    fakes.email.faults.fail()

    body = checkout(client, user_id).get_json()

    assert (body["email"], fakes.email.outbox) == ("queued", [])
    fakes.email.faults.recover()
    wait_until(lambda: len(fakes.email.outbox) == 2, "queued emails delivered", timeout=5)
    assert {(message.kind, message.order_id) for message in fakes.email.outbox} == {
        (1, body["order_id"]),
        (2, body["order_id"]),
    }
    wait_until(lambda: resources(app).email_queue.backlog() == 0, "queue drained", timeout=2)


def test_email_and_its_queue_both_down_still_places_the_order(
    make_app: Callable[..., Flask], fakes: Fakes, user_id: str
) -> None:
    client = make_app(PURCHASE_REDIS_URL="redis://127.0.0.1:1/0").test_client()
    fill_cart(client, user_id)
    fakes.email.faults.fail()

    body = checkout(client, user_id).get_json()

    assert (body["status"], body["email"]) == ("placed", "not_sent")
    assert body["degraded"] == [{"dependency": "email", "fallback": "none", "error": "UNAVAILABLE"}]


def test_a_slow_cart_spends_the_budget_and_the_checkout_fails_at_once_naming_the_step(
    make_app: Callable[..., Flask], fakes: Fakes, user_id: str
) -> None:
    client = make_app(PURCHASE_CHECKOUT_BUDGET_MS="300", PURCHASE_CART_DEADLINE_MS="5000").test_client()
    fill_cart(client, user_id)
    fakes.cart.faults.slow("GetCart", 2.0)

    started = time.monotonic()
    reply = checkout(client, user_id)

    assert time.monotonic() - started < 1.0
    assert reply.status_code == 503
    assert reply.headers["Retry-After"] == "1"
    assert error_of(reply) == {
        "code": "checkout_timeout",
        "message": "the checkout ran out of its 300 ms time budget at step 1 (cart.GetCart); please try again "
        "with the same Idempotency-Key, which never places a second order",
        "retryable": True,
        "dependency": "cart",
    }


def test_each_call_waits_at_most_what_is_left_of_the_budget(
    make_app: Callable[..., Flask], fakes: Fakes, user_id: str
) -> None:
    client = make_app(PURCHASE_CHECKOUT_BUDGET_MS="900", PURCHASE_CART_DEADLINE_MS="5000").test_client()
    fill_cart(client, user_id)
    for method in ("GetCart", "UpdateCart"):
        fakes.cart.faults.slow(method, 0.6)

    started = time.monotonic()
    reply = checkout(client, user_id)

    # 0.6 s for GetCart, then UpdateCart gets the 0.3 s that are left, not its 5 s deadline.
    assert 0.85 < time.monotonic() - started < 1.5
    assert error_of(reply)["message"].startswith("the checkout ran out of its 900 ms time budget at step 3")
    assert fakes.cart.faults.calls["PlaceOrder"] == 0


def test_a_checkout_that_timed_out_placing_the_order_replays_it_on_retry(
    make_app: Callable[..., Flask], fakes: Fakes, user_id: str
) -> None:
    client = make_app(PURCHASE_CHECKOUT_BUDGET_MS="400", PURCHASE_CART_DEADLINE_MS="5000").test_client()
    fill_cart(client, user_id)
    fakes.cart.faults.slow("PlaceOrder", 0.8)

    timed_out = checkout(client, user_id)
    # The cart placed the order after the gateway had given up on it.
    wait_until(lambda: fakes.cart.orders.get(user_id), "the slow order placed", timeout=3)
    fakes.cart.faults.recover()
    retried = checkout(client, user_id)

    assert error_of(timed_out)["code"] == "checkout_timeout"
    assert "at step 4 (cart.PlaceOrder)" in error_of(timed_out)["message"]
    assert (retried.status_code, retried.get_json()["replayed"], retried.get_json()["email"]) == (200, True, "sent")
    assert [order.order_id for order in fakes.cart.orders[user_id]] == [retried.get_json()["order_id"]]


def test_email_slower_than_what_is_left_of_the_budget_is_queued(
    make_app: Callable[..., Flask], fakes: Fakes, user_id: str
) -> None:
    app = make_app(PURCHASE_CHECKOUT_BUDGET_MS="400", PURCHASE_EMAIL_DEADLINE_MS="5000")
    resources(app).relay.stop()
    client = app.test_client()
    fill_cart(client, user_id)
    fakes.email.faults.slow("SendOrderConfirmation", 2.0)

    started = time.monotonic()
    reply = checkout(client, user_id)

    assert time.monotonic() - started < 1.2
    assert (reply.status_code, reply.get_json()["email"]) == (201, "queued")
    assert degraded_of(reply) == [("email", "queued", "BUDGET_EXHAUSTED")]
    assert resources(app).email_queue.backlog() == 2


@pytest.fixture
def telemetry() -> Iterator[tuple[Telemetry, InMemoryMetricReader]]:
    """Telemetry recording into memory, not installed as the process's own."""
    reader = InMemoryMetricReader()
    recording = setup_telemetry("test", {}, metric_readers=[reader], set_global=False)
    yield recording, reader
    recording.shutdown()


def counted(reader: InMemoryMetricReader, metric: str, **attributes: str) -> float:
    """The value of a counter over the points carrying these attributes."""
    data = reader.get_metrics_data()
    return sum(
        point.value
        for resource in (data.resource_metrics if data else [])
        for scope in resource.scope_metrics
        for recorded in scope.metrics
        if recorded.name == metric
        for point in recorded.data.data_points
        if all(point.attributes.get(key) == value for key, value in attributes.items())
    )


def test_checkouts_count_their_results_fallbacks_short_circuits_and_the_loyalty_funnel(
    make_app: Callable[..., Flask], fakes: Fakes, telemetry: tuple[Telemetry, InMemoryMetricReader]
) -> None:
    recording, reader = telemetry
    client = make_app(
        telemetry=recording, PURCHASE_BREAKER_FAILURES="1", PURCHASE_BREAKER_OPEN_MS="60000"
    ).test_client()
    first, second = returning_customers(client, fakes, 2)
    before = counted(reader, "purchase.checkouts", result="placed", fallbacks="on")
    fakes.pricing.faults.fail("GetAdjustment", INTERNAL)

    checkout(client, first)
    checkout(client, second)
    checkout(client, "nobody-with-a-cart")

    pricing = {"dependency": "pricing", "method": "GetAdjustment"}
    assert counted(reader, "purchase.dependency.calls", **pricing, outcome="error") == 1
    assert counted(reader, "purchase.dependency.calls", **pricing, outcome="short_circuited") == 1
    # Both checkouts fell back: the first because pricing failed, the second because its breaker was open.
    assert counted(reader, "purchase.dependency.fallbacks", **pricing, cause="error") == 1
    assert counted(reader, "purchase.dependency.fallbacks", **pricing, cause="short_circuited") == 1
    assert counted(reader, "purchase.checkouts", result="degraded", fallbacks="on") == 2
    assert counted(reader, "purchase.checkouts", result="rejected", fallbacks="on") == 1
    assert counted(reader, "purchase.checkouts", result="placed", fallbacks="on") == before
    funnel = {"feature": LOYALTY_DISCOUNT, "variant": "off"}
    assert counted(reader, "purchase.feature.funnel", **funnel, stage="eligible") == 2
    # Pricing never answered, so the loyalty rules never ran for them: not exposed, though their orders went in.
    assert counted(reader, "purchase.feature.funnel", **funnel, stage="exposed") == 0
    assert counted(reader, "purchase.feature.funnel", **funnel, stage="succeeded") == 2
