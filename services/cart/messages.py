"""Carts and orders as protobuf messages: the one place domain values become cart.v1 messages."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp
from purchase.cart.v1 import cart_pb2

from purchase_lab.money import money
from services.cart.domain import CartView, Line, Order, OrderStatus

_ORDER_STATUS = {
    OrderStatus.PLACED: cart_pb2.ORDER_STATUS_PLACED,
    OrderStatus.CANCELLED: cart_pb2.ORDER_STATUS_CANCELLED,
}


def line_message(line: Line) -> cart_pb2.CartLine:
    """A cart or order line as a message."""
    return cart_pb2.CartLine(
        sku=line.sku,
        name=line.name,
        quantity=line.quantity,
        unit_price=money(line.unit_price, line.currency),
        line_total=money(line.total, line.currency),
    )


def cart_message(view: CartView) -> cart_pb2.Cart:
    """A cart, with its totals and discount eligibility, as a message."""
    cart = view.cart
    return cart_pb2.Cart(
        user_id=view.user_id,
        lines=[line_message(line) for line in cart.lines],
        subtotal=money(cart.subtotal, cart.currency),
        promo_code=cart.promo_code,
        adjustment=money(cart.adjustment, cart.currency),
        adjustment_reason=cart.adjustment_reason,
        total=money(cart.total, cart.currency),
        first_order=view.first_order,
        discount_eligible=view.discount_eligible,
        previous_orders=view.previous_orders,
    )


def order_message(order: Order) -> cart_pb2.Order:
    """An order as a message."""
    created_at = Timestamp()
    created_at.FromDatetime(order.created_at)
    return cart_pb2.Order(
        order_id=order.order_id,
        user_id=order.user_id,
        lines=[line_message(line) for line in order.lines],
        subtotal=money(order.subtotal, order.currency),
        adjustment=money(order.adjustment, order.currency),
        adjustment_reason=order.adjustment_reason,
        total=money(order.total, order.currency),
        promo_code=order.promo_code,
        status=_ORDER_STATUS[order.status],
        idempotency_key=order.idempotency_key,
        created_at=created_at,
        cancel_reason=order.cancel_reason,
    )
