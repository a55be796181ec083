"""The JSON the API answers with: products, carts and orders, amounts as integer *_cents plus a currency."""

from __future__ import annotations

from typing import Any

from purchase.cart.v1 import cart_pb2
from purchase.common.v1.money_pb2 import Money
from purchase.pricing.v1 import pricing_pb2

from purchase_lab.money import CURRENCY

ORDER_STATUS = {
    cart_pb2.ORDER_STATUS_PLACED: "placed",
    cart_pb2.ORDER_STATUS_CANCELLED: "cancelled",
}


def currency_of(*amounts: Money) -> str:
    """The currency of the first amount that names one (an empty cart's zero may not)."""
    return next((amount.currency for amount in amounts if amount.currency), CURRENCY)


def product_payload(product: pricing_pb2.Product) -> dict[str, Any]:
    """One catalogue product."""
    return {
        "sku": product.sku,
        "name": product.name,
        "description": product.description,
        "category": product.category,
        "price_cents": product.price.minor_units,
        "currency": currency_of(product.price),
    }


def line_payload(line: cart_pb2.CartLine) -> dict[str, Any]:
    """One line of a cart or an order."""
    return {
        "sku": line.sku,
        "name": line.name,
        "quantity": line.quantity,
        "unit_price_cents": line.unit_price.minor_units,
        "line_total_cents": line.line_total.minor_units,
    }


def cart_payload(cart: cart_pb2.Cart) -> dict[str, Any]:
    """A user's cart with its totals and whether a discount may apply."""
    return {
        "user_id": cart.user_id,
        "lines": [line_payload(line) for line in cart.lines],
        "item_count": sum(line.quantity for line in cart.lines),
        "subtotal_cents": cart.subtotal.minor_units,
        "adjustment_cents": cart.adjustment.minor_units,
        "adjustment_reason": cart.adjustment_reason,
        "total_cents": cart.total.minor_units,
        "currency": currency_of(cart.subtotal, cart.total),
        "promo_code": cart.promo_code,
        "first_order": cart.first_order,
        "discount_eligible": cart.discount_eligible,
    }


def order_payload(order: cart_pb2.Order) -> dict[str, Any]:
    """A placed or cancelled order, as frozen at checkout."""
    payload = {
        "order_id": order.order_id,
        "status": ORDER_STATUS.get(order.status, "unknown"),
        "lines": [line_payload(line) for line in order.lines],
        "subtotal_cents": order.subtotal.minor_units,
        "adjustment_cents": order.adjustment.minor_units,
        "adjustment_reason": order.adjustment_reason,
        "total_cents": order.total.minor_units,
        "currency": currency_of(order.subtotal, order.total),
        "promo_code": order.promo_code,
        "created_at": order.created_at.ToJsonString() if order.HasField("created_at") else None,
    }
    if order.cancel_reason:
        payload["cancel_reason"] = order.cancel_reason
    return payload
