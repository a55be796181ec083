"""The checkout beyond its table (test_checkout_table.py): addresses, discounts, idempotent replays, bad requests."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from flask import Flask
from flask.testing import FlaskClient
from purchase.cart.v1 import cart_pb2
from purchase.email.v1 import email_pb2

from tests.gateway.conftest import Fakes, checkout, error_of, fill_cart, place_earlier_order, user_headers

pytestmark = pytest.mark.functional

CONFIRMATION = email_pb2.EMAIL_KIND_ORDER_CONFIRMATION
DISCOUNT = email_pb2.EMAIL_KIND_DISCOUNT


def test_the_emails_go_to_the_address_in_x_user_email(client: FlaskClient, fakes: Fakes, user_id: str) -> None:
    fill_cart(client, user_id)

    order_id = checkout(client, user_id, X_User_Email="ada@example.org").get_json()["order_id"]

    assert fakes.email.sent(CONFIRMATION, order_id).to == "ada@example.org"
    assert fakes.email.sent(DISCOUNT, order_id).to == "ada@example.org"


def test_an_order_without_a_discount_sends_only_the_confirmation_to_the_default_address(
    client: FlaskClient, fakes: Fakes, user_id: str
) -> None:
    place_earlier_order(fakes, client, user_id)
    fill_cart(client, user_id)

    body = checkout(client, user_id).get_json()

    assert (body["adjustment_cents"], body["total_cents"], body["email"]) == (0, 4499, "sent")
    assert fakes.cart.faults.calls["UpdateCart"] == 0
    assert [message.kind for message in fakes.email.outbox] == [CONFIRMATION]
    assert fakes.email.outbox[0].to == f"{user_id}@example.com"


def test_a_promo_code_discounts_a_later_order(client: FlaskClient, fakes: Fakes, user_id: str) -> None:
    place_earlier_order(fakes, client, user_id)
    fill_cart(client, user_id)
    client.post("/api/v1/cart/promo", json={"code": "SAVE5"}, headers=user_headers(user_id))

    body = checkout(client, user_id).get_json()

    assert (body["promo_code"], body["adjustment_cents"], body["total_cents"]) == ("SAVE5", 500, 3999)
    assert body["adjustment_reason"] == "$5.00 off with code SAVE5"


def test_the_same_key_replays_the_same_order_without_ordering_or_emailing_twice(
    client: FlaskClient, fakes: Fakes, user_id: str
) -> None:
    fill_cart(client, user_id)
    first = checkout(client, user_id).get_json()

    again = checkout(client, user_id)

    assert again.status_code == 200
    assert again.get_json() == {**first, "replayed": True}
    assert len(client.get("/api/v1/orders", headers=user_headers(user_id)).get_json()["orders"]) == 1
    assert len(fakes.email.outbox) == 2


def test_an_empty_cart_is_409_and_places_nothing(client: FlaskClient, user_id: str) -> None:
    reply = checkout(client, user_id)

    assert reply.status_code == 409
    assert error_of(reply) == {
        "code": "cart_empty",
        "message": "your cart is empty; add items with POST /api/v1/cart/items, then check out",
        "retryable": False,
    }


@pytest.mark.parametrize(("key", "code"), [(None, "missing_header"), ("k" * 129, "invalid_header")])
def test_a_missing_or_invalid_idempotency_key_is_400(
    client: FlaskClient, fakes: Fakes, user_id: str, key: str | None, code: str
) -> None:
    headers = user_headers(user_id) if key is None else {**user_headers(user_id), "Idempotency-Key": key}

    reply = client.post("/api/v1/checkout", headers=headers)

    assert reply.status_code == 400
    assert error_of(reply)["code"] == code
    assert "Idempotency-Key" in error_of(reply)["message"]
    assert sum(fakes.cart.faults.calls.values()) == 0


def test_a_replay_sends_emails_an_interrupted_checkout_did_not(client: FlaskClient, fakes: Fakes, user_id: str) -> None:
    fill_cart(client, user_id)
    # The first attempt placed the order but never reached its emails (the gateway died, say).
    fakes.cart.PlaceOrder(cart_pb2.PlaceOrderRequest(user_id=user_id, idempotency_key="key-1"), None)

    reply = checkout(client, user_id)

    assert reply.status_code == 200
    body = reply.get_json()
    assert (body["replayed"], body["email"]) == (True, "sent")
    assert fakes.email.sent(CONFIRMATION, body["order_id"]) is not None


@pytest.mark.parametrize(
    ("user_id", "address"), [("ada@lab.example.org", "ada@lab.example.org"), ("ada@lab", "ada.lab@example.com")]
)
def test_a_user_id_with_an_at_sign_still_gets_a_valid_default_address(
    client: FlaskClient, fakes: Fakes, user_id: str, address: str
) -> None:
    fill_cart(client, user_id)

    body = checkout(client, user_id).get_json()

    assert fakes.email.sent(CONFIRMATION, body["order_id"]).to == address


def test_a_checkout_that_loses_a_race_to_its_own_key_replays_the_winners_order(
    client: FlaskClient, fakes: Fakes, user_id: str
) -> None:
    fill_cart(client, user_id)
    place = fakes.cart.PlaceOrder

    def lose_the_race(request: cart_pb2.PlaceOrderRequest, context: grpc.ServicerContext):
        if not fakes.cart.orders.get(user_id):
            place(request, context)  # a concurrent checkout with the same key wins and empties the cart
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "the cart is empty; add items before checking out")
        return place(request, context)

    fakes.cart.PlaceOrder = lose_the_race

    reply = checkout(client, user_id)

    assert reply.status_code == 200
    assert reply.get_json()["replayed"] is True
    assert reply.get_json()["order_id"] == fakes.cart.orders[user_id][0].order_id
    assert len(fakes.cart.orders[user_id]) == 1


def test_a_key_whose_order_was_cancelled_cannot_place_another(
    make_app: Callable[..., Flask], fakes: Fakes, user_id: str
) -> None:
    client = make_app(fallbacks=False).test_client()
    fill_cart(client, user_id)
    fakes.email.faults.fail()
    order_id = error_of(checkout(client, user_id))["order_id"]
    fakes.email.faults.recover()

    again = checkout(client, user_id)

    assert again.status_code == 409
    assert error_of(again) == {
        "code": "order_cancelled",
        "message": f"order {order_id} placed with this Idempotency-Key was cancelled (the confirmation email could "
        "not be sent (email: UNAVAILABLE)); check out again with a new Idempotency-Key",
        "retryable": False,
        "order_id": order_id,
        "order_status": "cancelled",
    }
    orders = client.get("/api/v1/orders", headers=user_headers(user_id)).get_json()["orders"]
    assert [(order["order_id"], order["status"]) for order in orders] == [(order_id, "cancelled")]
    assert fakes.cart.faults.calls["PlaceOrder"] == 2
