"""The checkout table of ARCHITECTURE.md, cell by cell: each step failing x fallbacks on/off x eligible or not.

Each case makes one call of the contract fakes fail with UNAVAILABLE (a dependency that is down),
checks out, and asserts everything the client receives and every call the fakes saw. The email
relay is stopped, so what a checkout queued stays in the queue to be looked at.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import grpc
import pytest
from flask import Flask
from flask.testing import FlaskClient
from purchase.cart.v1 import cart_pb2
from purchase.email.v1 import email_pb2
from werkzeug.test import TestResponse

from services.gateway.email_queue import STREAM, OutgoingEmail
from tests.gateway.conftest import Fakes, checkout, fill_cart, place_earlier_order, resources
from tests.gateway.fakes import FIRST_ORDER_REASON

pytestmark = pytest.mark.functional

ON, OFF = "fallbacks-on", "fallbacks-off"
ELIGIBLE, NOT_ELIGIBLE = "eligible", "not-eligible"

# The cart fill_cart fills, as every order of it is answered: lines and prices pass through from the cart.
LINES = [
    {"sku": "MUG-001", "name": "Enamel camp mug", "quantity": 2, "unit_price_cents": 1250, "line_total_cents": 2500},
    {"sku": "BAG-003", "name": "Canvas tote", "quantity": 1, "unit_price_cents": 1999, "line_total_cents": 1999},
]
SUBTOTAL = 4499
FIRST_ORDER_DISCOUNT = 450

ALL_EMAILS = "SendOrderConfirmation SendDiscountEmail"
# Every case: (which call fails, column, eligibility) -> (what the client gets, the calls the fakes saw).
# UNAVAILABLE is retried by the channel for calls that are safe to repeat: three attempts.
TABLE = {
    ("nothing", ON, ELIGIBLE): ("placed", f"GetCart GetAdjustment UpdateCart PlaceOrder {ALL_EMAILS}"),
    ("nothing", ON, NOT_ELIGIBLE): ("placed", "GetCart GetAdjustment PlaceOrder SendOrderConfirmation"),
    ("nothing", OFF, ELIGIBLE): ("placed", f"GetCart GetAdjustment UpdateCart PlaceOrder {ALL_EMAILS}"),
    ("nothing", OFF, NOT_ELIGIBLE): ("placed", "GetCart GetAdjustment PlaceOrder SendOrderConfirmation"),
    # Step 1, HARD in both columns.
    ("GetCart", ON, ELIGIBLE): ("cart unavailable", "GetCart*3"),
    ("GetCart", ON, NOT_ELIGIBLE): ("cart unavailable", "GetCart*3"),
    ("GetCart", OFF, ELIGIBLE): ("cart unavailable", "GetCart*3"),
    ("GetCart", OFF, NOT_ELIGIBLE): ("cart unavailable", "GetCart*3"),
    # Step 2, SOFT with fallbacks on: $0 for someone owed nothing, "try again" for someone owed a discount.
    ("GetAdjustment", ON, ELIGIBLE): ("try again for the discount", "GetCart GetAdjustment*3"),
    ("GetAdjustment", ON, NOT_ELIGIBLE): (
        "placed without a discount",
        "GetCart GetAdjustment*3 PlaceOrder SendOrderConfirmation",
    ),
    ("GetAdjustment", OFF, ELIGIBLE): ("pricing unavailable", "GetCart GetAdjustment*3"),
    ("GetAdjustment", OFF, NOT_ELIGIBLE): ("pricing unavailable", "GetCart GetAdjustment*3"),
    # Step 3, only when there is a discount to apply; HARD then.
    ("UpdateCart", ON, ELIGIBLE): ("cart unavailable", "GetCart GetAdjustment UpdateCart*3"),
    ("UpdateCart", ON, NOT_ELIGIBLE): ("placed", "GetCart GetAdjustment PlaceOrder SendOrderConfirmation"),
    ("UpdateCart", OFF, ELIGIBLE): ("cart unavailable", "GetCart GetAdjustment UpdateCart*3"),
    ("UpdateCart", OFF, NOT_ELIGIBLE): ("placed", "GetCart GetAdjustment PlaceOrder SendOrderConfirmation"),
    # Step 4, HARD in both columns.
    ("PlaceOrder", ON, ELIGIBLE): ("cart unavailable", "GetCart GetAdjustment UpdateCart PlaceOrder*3"),
    ("PlaceOrder", ON, NOT_ELIGIBLE): ("cart unavailable", "GetCart GetAdjustment PlaceOrder*3"),
    ("PlaceOrder", OFF, ELIGIBLE): ("cart unavailable", "GetCart GetAdjustment UpdateCart PlaceOrder*3"),
    ("PlaceOrder", OFF, NOT_ELIGIBLE): ("cart unavailable", "GetCart GetAdjustment PlaceOrder*3"),
    # Step 5: SOFT and ignored with fallbacks on (queued: the discount email is not even tried);
    # HARD with them off: the order is cancelled.
    ("email", ON, ELIGIBLE): ("queued", "GetCart GetAdjustment UpdateCart PlaceOrder SendOrderConfirmation*3"),
    ("email", ON, NOT_ELIGIBLE): ("queued", "GetCart GetAdjustment PlaceOrder SendOrderConfirmation*3"),
    ("email", OFF, ELIGIBLE): (
        "cancelled",
        "GetCart GetAdjustment UpdateCart PlaceOrder SendOrderConfirmation*3 CancelOrder",
    ),
    ("email", OFF, NOT_ELIGIBLE): ("cancelled", "GetCart GetAdjustment PlaceOrder SendOrderConfirmation*3 CancelOrder"),
}


@dataclass
class Shop:
    """A gateway app with its relay stopped, its client, the fakes behind it, and the checking-out user."""

    app: Flask
    client: FlaskClient
    fakes: Fakes
    user_id: str
    eligible: bool

    def cart_lines(self) -> list[tuple[str, int]]:
        """(SKU, quantity) of each line of the user's cart, as the fake cart holds it."""
        return [(line.sku, line.quantity) for line in self.fakes.cart.view(self.user_id).lines]

    def orders(self) -> list[cart_pb2.Order]:
        """The orders the fake cart holds for the user, oldest first, without an earlier one."""
        return [o for o in self.fakes.cart.orders.get(self.user_id, []) if o.idempotency_key != "earlier"]

    def outbox(self) -> list[tuple[int, str]]:
        """(kind, order id) of each email the fake email service recorded."""
        return [(message.kind, message.order_id) for message in self.fakes.email.outbox]

    def queued(self) -> list[tuple[str, str]]:
        """(kind, order id) of each email waiting in the gateway's queue."""
        entries = resources(self.app).email_queue.client.xrange(STREAM)
        return [
            (email.kind, email.request.order_id) for email in map(OutgoingEmail.from_fields, dict(entries).values())
        ]


def open_shop(make_app: Callable[..., Flask], fakes: Fakes, user_id: str, column: str, eligibility: str) -> Shop:
    """A shop in one column of the table, with the user's cart filled: a first order, or a returning customer's."""
    app = make_app(fallbacks=column == ON)
    resources(app).relay.stop()
    client = app.test_client()
    if eligibility == NOT_ELIGIBLE:
        place_earlier_order(fakes, client, user_id)
    fill_cart(client, user_id)
    for fake in (fakes.cart, fakes.pricing, fakes.email):
        fake.faults.calls.clear()
    return Shop(app, client, fakes, user_id, eligibility == ELIGIBLE)


def break_call(fakes: Fakes, failing: str, code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE) -> None:
    """Make one step's call fail with code: a cart method, GetAdjustment, or "email" (every send)."""
    if failing == "GetAdjustment":
        fakes.pricing.faults.fail(failing, code)
    elif failing == "email":
        fakes.email.faults.fail("*", code)
    elif failing != "nothing":
        fakes.cart.faults.fail(failing, code)


def calls_seen(fakes: Fakes) -> Counter[str]:
    """Every call the three fakes saw, by method."""
    return fakes.cart.faults.calls + fakes.pricing.faults.calls + fakes.email.faults.calls


def calls(spec: str) -> Counter[str]:
    """Parse "GetCart GetAdjustment*3" into a Counter of calls."""
    counts: Counter[str] = Counter()
    for item in spec.split():
        method, _, times = item.partition("*")
        counts[method] += int(times or 1)
    return counts


def order_fields(eligible: bool) -> dict[str, object]:
    """The order a checkout of the filled cart places, without its id and time."""
    adjustment = FIRST_ORDER_DISCOUNT if eligible else 0
    return {
        "status": "placed",
        "lines": LINES,
        "subtotal_cents": SUBTOTAL,
        "adjustment_cents": adjustment,
        "adjustment_reason": FIRST_ORDER_REASON if eligible else "",
        "total_cents": SUBTOTAL - adjustment,
        "currency": "USD",
        "promo_code": "",
    }


def assert_placed(shop: Shop, reply: TestResponse, email: str, degraded: list[dict[str, str]]) -> str:
    """201 with the whole order as the cart placed it; the cart is empty. Return the order id."""
    assert reply.status_code == 201
    body = reply.get_json()
    [order] = shop.orders()
    assert body.pop("order_id") == order.order_id
    assert body.pop("created_at") == order.created_at.ToJsonString()
    assert body == {**order_fields(shop.eligible), "email": email, "degraded": degraded, "replayed": False}
    assert shop.cart_lines() == []
    return order.order_id


def assert_emails_sent(shop: Shop, order_id: str) -> None:
    """The confirmation, and the discount email for a discount, reached the email service; nothing is queued."""
    fakes, fields = shop.fakes, order_fields(shop.eligible)
    kinds = [email_pb2.EMAIL_KIND_ORDER_CONFIRMATION] + [email_pb2.EMAIL_KIND_DISCOUNT] * shop.eligible
    assert shop.outbox() == [(kind, order_id) for kind in kinds]
    confirmation = fakes.email.sent(email_pb2.EMAIL_KIND_ORDER_CONFIRMATION, order_id)
    assert (confirmation.to, confirmation.total.minor_units, confirmation.item_count) == (
        f"{shop.user_id}@example.com",
        fields["total_cents"],
        3,
    )
    if shop.eligible:
        discount = fakes.email.sent(email_pb2.EMAIL_KIND_DISCOUNT, order_id)
        assert (discount.amount.minor_units, discount.reason) == (FIRST_ORDER_DISCOUNT, FIRST_ORDER_REASON)
    assert shop.queued() == []


def assert_unavailable(shop: Shop, reply: TestResponse, dependency: str, message: str) -> None:
    """A retryable 503 naming the dependency, with Retry-After; no order, the cart as it was, no email."""
    assert reply.status_code == 503
    assert reply.headers["Retry-After"] == "1"
    assert reply.get_json() == {
        "error": {"code": "dependency_unavailable", "message": message, "retryable": True, "dependency": dependency}
    }
    assert shop.orders() == []
    assert shop.cart_lines() == [("MUG-001", 2), ("BAG-003", 1)]
    assert (shop.outbox(), shop.queued()) == ([], [])


def assert_outcome(shop: Shop, reply: TestResponse, outcome: str) -> None:
    """Everything the client received and the shop holds afterwards, for one outcome of the table."""
    if outcome == "placed":
        assert_emails_sent(shop, assert_placed(shop, reply, "sent", []))
    elif outcome == "placed without a discount":
        degraded = [{"dependency": "pricing", "fallback": "no_adjustment", "error": "UNAVAILABLE"}]
        assert_emails_sent(shop, assert_placed(shop, reply, "sent", degraded))
    elif outcome == "queued":
        degraded = [{"dependency": "email", "fallback": "queued", "error": "UNAVAILABLE"}]
        order_id = assert_placed(shop, reply, "queued", degraded)
        assert shop.outbox() == []
        assert shop.queued() == [("order_confirmation", order_id)] + [("discount", order_id)] * shop.eligible
    elif outcome == "cancelled":
        assert_cancelled(shop, reply)
    elif outcome == "try again for the discount":
        message = "pricing is unavailable and you are eligible for a discount; please try again"
        assert_unavailable(shop, reply, "pricing", message)
    else:
        dependency = outcome.split()[0]
        message = f"the {dependency} service is unavailable (UNAVAILABLE); please try again in a few seconds"
        assert_unavailable(shop, reply, dependency, message)


def assert_cancelled(shop: Shop, reply: TestResponse) -> None:
    """The original app's bug: a 503 saying the order was cancelled, its items back in the cart."""
    [order] = shop.orders()
    assert reply.status_code == 503
    assert reply.headers["Retry-After"] == "1"
    assert reply.get_json() == {
        "error": {
            "code": "order_cancelled",
            "message": f"the confirmation email could not be sent (email: UNAVAILABLE), so order {order.order_id} "
            "was cancelled and its items are back in your cart; please check out again with a new Idempotency-Key",
            "retryable": True,
            "dependency": "email",
            "order_id": order.order_id,
            "order_status": "cancelled",
        }
    }
    assert order.status == cart_pb2.ORDER_STATUS_CANCELLED
    assert shop.cart_lines() == [("MUG-001", 2), ("BAG-003", 1)]
    assert (shop.outbox(), shop.queued()) == ([], [])


@pytest.mark.parametrize(("failing", "column", "eligibility"), list(TABLE), ids=["-".join(case) for case in TABLE])
def test_each_cell_of_the_checkout_table(
    make_app: Callable[..., Flask], fakes: Fakes, user_id: str, failing: str, column: str, eligibility: str
) -> None:
    outcome, expected_calls = TABLE[failing, column, eligibility]
    shop = open_shop(make_app, fakes, user_id, column, eligibility)
    break_call(fakes, failing)

    reply = checkout(shop.client, shop.user_id)

    assert calls_seen(fakes) == calls(expected_calls)
    assert_outcome(shop, reply, outcome)
