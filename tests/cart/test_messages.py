"""Unit tests of how carts and orders become cart.v1 messages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from purchase.cart.v1 import cart_pb2

from purchase_lab.money import money
from services.cart.domain import Cart, CartView, Line, Order
from services.cart.messages import cart_message, order_message

pytestmark = pytest.mark.unit

MUG = Line("MUG-1", "Enamel mug", 2, 1250, "USD")


def test_a_cart_message_carries_lines_totals_and_eligibility() -> None:
    cart = Cart(promo_code="SPRING15").add(MUG).with_adjustment(500, "USD", "SPRING15")

    message = cart_message(CartView("u-1", cart, first_order=False))

    assert message.user_id == "u-1"
    assert message.lines[0] == cart_pb2.CartLine(
        sku="MUG-1", name="Enamel mug", quantity=2, unit_price=money(1250), line_total=money(2500)
    )
    assert (message.subtotal, message.adjustment, message.total) == (money(2500), money(500), money(2000))
    assert (message.first_order, message.discount_eligible) == (False, True)


def test_an_empty_cart_has_zero_totals_in_the_shops_currency() -> None:
    message = cart_message(CartView("u-1", Cart(), first_order=True))

    assert (message.subtotal, message.total) == (money(0), money(0))
    assert (message.first_order, message.discount_eligible) == (True, True)


def test_an_order_message_carries_status_time_and_cancel_reason() -> None:
    created_at = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    order = Order.from_cart(
        Cart().add(MUG), order_id="o-1", user_id="u-1", idempotency_key="k-1", created_at=created_at
    ).cancel("changed my mind")

    message = order_message(order)

    assert (message.order_id, message.idempotency_key, message.total) == ("o-1", "k-1", money(2500))
    assert message.status == cart_pb2.ORDER_STATUS_CANCELLED
    assert message.cancel_reason == "changed my mind"
    assert message.created_at.ToDatetime(tzinfo=UTC) == created_at
