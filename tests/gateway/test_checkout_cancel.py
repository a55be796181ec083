"""The original app's last resort: an order whose email failed is cancelled; when that fails too, the user is told."""

from __future__ import annotations

import logging
from collections.abc import Callable

import grpc
import pytest
from flask import Flask

from tests.gateway.conftest import Fakes, checkout, error_of, fill_cart, user_headers

pytestmark = pytest.mark.functional

# Generous limits: these tests are about what a failure means, not how long it takes, and a loaded machine is slow.
PATIENT = {
    f"PURCHASE_{name}": "10000"
    for name in ("CHECKOUT_BUDGET_MS", "CART_DEADLINE_MS", "PRICING_DEADLINE_MS", "EMAIL_DEADLINE_MS")
}


def test_an_order_whose_email_and_cancellation_both_failed_stands_and_the_user_is_told(
    make_app: Callable[..., Flask], fakes: Fakes, user_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app(fallbacks=False, **PATIENT).test_client()
    fill_cart(client, user_id)
    # INTERNAL, which the channel does not retry: the answer says so at once.
    fakes.email.faults.fail("*", grpc.StatusCode.INTERNAL)
    fakes.cart.faults.fail("CancelOrder", grpc.StatusCode.INTERNAL)

    with caplog.at_level(logging.ERROR, logger="services.gateway.checkout"):
        reply = checkout(client, user_id)

    orders = client.get("/api/v1/orders", headers=user_headers(user_id)).get_json()["orders"]
    assert [order["status"] for order in orders] == ["placed"]
    order_id = orders[0]["order_id"]
    assert reply.status_code == 503
    assert error_of(reply) == {
        "code": "dependency_unavailable",
        "message": "the confirmation email could not be sent (email: INTERNAL), and cancelling order "
        f"{order_id} failed too (cart: INTERNAL), so the order stands without its email; please try again "
        "with the same Idempotency-Key",
        "retryable": True,
        "dependency": "email",
        "order_id": order_id,
        "order_status": "placed",
    }
    assert fakes.cart.faults.calls["CancelOrder"] == 1
    assert [record.getMessage() for record in caplog.records if record.name == "services.gateway.checkout"] == [
        f"order {order_id} stands: cancelling it failed: cart: INTERNAL: CancelOrder failed: injected by the test"
    ]


def test_emails_neither_sent_nor_queued_are_logged_with_the_queues_error(
    make_app: Callable[..., Flask], fakes: Fakes, user_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app(PURCHASE_REDIS_URL="redis://127.0.0.1:1/0", **PATIENT).test_client()
    fill_cart(client, user_id)
    fakes.email.faults.fail("*", grpc.StatusCode.INTERNAL)

    with caplog.at_level(logging.WARNING, logger="services.gateway.checkout"):
        body = checkout(client, user_id).get_json()

    logged = [record.getMessage() for record in caplog.records if record.name == "services.gateway.checkout"]
    assert body["email"] == "not_sent"
    assert logged[-1].startswith("emails of this checkout were neither sent nor queued: ")
    assert "127.0.0.1:1" in logged[-1]
