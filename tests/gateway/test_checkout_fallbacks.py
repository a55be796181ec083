"""The checkout's soft dependencies, pricing and email, failing with fallbacks on and off."""

from __future__ import annotations

import time
from collections.abc import Callable

import grpc
import pytest
from flask import Flask
from flask.testing import FlaskClient
from purchase.email.v1 import email_pb2

from purchase_lab.health import wait_until
from tests.gateway.conftest import Fakes, checkout, error_of, fill_cart, place_earlier_order, resources, user_headers

pytestmark = pytest.mark.functional

CONFIRMATION = email_pb2.EMAIL_KIND_ORDER_CONFIRMATION
DISCOUNT = email_pb2.EMAIL_KIND_DISCOUNT


def test_pricing_down_for_an_eligible_user_is_503_please_try_again(
    client: FlaskClient, fakes: Fakes, user_id: str
) -> None:
    fill_cart(client, user_id)
    fakes.pricing.faults.fail("GetAdjustment")

    reply = checkout(client, user_id)

    assert reply.status_code == 503
    assert error_of(reply) == {
        "code": "dependency_unavailable",
        "message": "pricing is unavailable and you are eligible for a discount; please try again",
        "retryable": True,
        "dependency": "pricing",
    }
    assert fakes.cart.faults.calls["PlaceOrder"] == 0
    assert len(client.get("/api/v1/cart", headers=user_headers(user_id)).get_json()["lines"]) == 2


@pytest.mark.parametrize(("fault", "error"), [("fail", "UNAVAILABLE"), ("slow", "DEADLINE_EXCEEDED")])
def test_pricing_down_for_an_ineligible_user_places_the_order_without_a_discount(
    make_app: Callable[..., Flask], fakes: Fakes, user_id: str, fault: str, error: str
) -> None:
    client = make_app(PURCHASE_PRICING_DEADLINE_MS="100").test_client()
    place_earlier_order(fakes, client, user_id)
    fill_cart(client, user_id)
    if fault == "fail":
        fakes.pricing.faults.fail("GetAdjustment")
    else:
        fakes.pricing.faults.slow("GetAdjustment", 1.0)

    started = time.monotonic()
    reply = checkout(client, user_id)

    assert time.monotonic() - started < 0.8
    assert reply.status_code == 201
    body = reply.get_json()
    assert (body["adjustment_cents"], body["total_cents"], body["email"]) == (0, 4499, "sent")
    assert body["degraded"] == [{"dependency": "pricing", "fallback": "no_adjustment", "error": error}]


def test_pricing_down_with_fallbacks_off_fails_even_an_ineligible_user(
    make_app: Callable[..., Flask], fakes: Fakes, user_id: str
) -> None:
    client = make_app(fallbacks=False).test_client()
    place_earlier_order(fakes, client, user_id)
    fill_cart(client, user_id)
    fakes.pricing.faults.fail("GetAdjustment")

    reply = checkout(client, user_id)

    assert reply.status_code == 503
    assert error_of(reply)["dependency"] == "pricing"
    assert fakes.cart.faults.calls["PlaceOrder"] == 0


def test_email_down_queues_the_emails_and_the_relay_delivers_them_when_email_recovers(
    client: FlaskClient, fakes: Fakes, user_id: str, app: Flask
) -> None:
    fill_cart(client, user_id)
    fakes.email.faults.fail()

    reply = checkout(client, user_id)

    assert reply.status_code == 201
    body = reply.get_json()
    assert (body["status"], body["email"]) == ("placed", "queued")
    assert body["degraded"] == [{"dependency": "email", "fallback": "queued", "error": "UNAVAILABLE"}]
    assert fakes.email.outbox == []
    fakes.email.faults.recover()
    wait_until(lambda: len(fakes.email.outbox) == 2, "queued emails delivered", timeout=5)
    assert fakes.email.sent(CONFIRMATION, body["order_id"]).total.minor_units == body["total_cents"]
    assert fakes.email.sent(DISCOUNT, body["order_id"]).amount.minor_units == body["adjustment_cents"]
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


def test_email_down_with_fallbacks_off_cancels_the_order(
    make_app: Callable[..., Flask], fakes: Fakes, user_id: str
) -> None:
    client = make_app(fallbacks=False).test_client()
    fill_cart(client, user_id)
    fakes.email.faults.fail()

    reply = checkout(client, user_id)

    assert reply.status_code == 503
    error = error_of(reply)
    order_id = error["order_id"]
    assert error == {
        "code": "order_cancelled",
        "message": f"the confirmation email could not be sent (email: UNAVAILABLE), so order {order_id} was "
        "cancelled and its items are back in your cart; please check out again with a new Idempotency-Key",
        "retryable": True,
        "dependency": "email",
        "order_id": order_id,
        "order_status": "cancelled",
    }
    orders = client.get("/api/v1/orders", headers=user_headers(user_id)).get_json()["orders"]
    assert [(order["order_id"], order["status"]) for order in orders] == [(order_id, "cancelled")]
    assert len(client.get("/api/v1/cart", headers=user_headers(user_id)).get_json()["lines"]) == 2

    again = checkout(client, user_id)

    assert again.status_code == 409
    assert error_of(again)["code"] == "order_cancelled"
    assert "check out again with a new Idempotency-Key" in error_of(again)["message"]


def test_an_email_the_email_service_refuses_is_not_queued(client: FlaskClient, fakes: Fakes, user_id: str) -> None:
    fill_cart(client, user_id)
    fakes.email.faults.fail("SendOrderConfirmation", grpc.StatusCode.INVALID_ARGUMENT)

    body = checkout(client, user_id).get_json()

    assert (body["status"], body["email"]) == ("placed", "not_sent")
    assert body["degraded"] == [{"dependency": "email", "fallback": "none", "error": "INVALID_ARGUMENT"}]
