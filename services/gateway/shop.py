"""The shop's API: browse products, fill a cart, enter a promo code, list orders."""

from __future__ import annotations

from typing import Any

import grpc
from flask import Blueprint
from purchase.cart.v1 import cart_pb2
from purchase.pricing.v1 import pricing_pb2

from services.gateway import inputs
from services.gateway.catalogue import last_good_catalogue, stale_marker
from services.gateway.errors import CONTRACT_ERRORS, DependencyError, InvalidValue, NotFound
from services.gateway.payloads import cart_payload, order_payload, product_payload
from services.gateway.resources import gateway

bp = Blueprint("shop", __name__, url_prefix="/api/v1")

ITEM_EXAMPLE = '{"sku": "COF-ETH-250", "quantity": 2}'
PROMO_EXAMPLE = '{"code": "SPRING15"}'


@bp.get("/products")
def list_products() -> dict[str, Any]:
    """The whole catalogue, as pricing says now (and kept as the last good catalogue for adding to the cart).

    HARD: the list shows pricing as it is, so a student sees pricing fail here; adding to the cart is soft.
    """
    products = gateway().downstreams.pricing.call("ListProducts", pricing_pb2.ListProductsRequest()).products
    last_good_catalogue().keep(products)
    return {"products": [product_payload(product) for product in products]}


@bp.get("/cart")
def get_cart() -> dict[str, Any]:
    """The user's cart (empty when they have none)."""
    user = inputs.current_user()
    reply = gateway().downstreams.cart.call("GetCart", cart_pb2.GetCartRequest(user_id=user.user_id))
    return cart_payload(reply.cart)


@bp.post("/cart/items")
def add_item() -> dict[str, Any]:
    """Add a quantity of a product, at the catalogue's name and price (the last good one while pricing fails)."""
    user = inputs.current_user()
    body = inputs.json_object(ITEM_EXAMPLE)
    sku = inputs.text(body, "sku", inputs.MAX_SKU_LENGTH, ITEM_EXAMPLE)
    quantity = inputs.quantity(body, ITEM_EXAMPLE)
    downstreams = gateway().downstreams
    unknown_sku = NotFound(
        f"there is no product with SKU {sku!r}; GET /api/v1/products lists the catalogue", code="unknown_sku"
    )
    kept = last_good_catalogue()
    stale: dict[str, Any] = {}
    try:
        product = downstreams.pricing.call(
            "GetProduct",
            pricing_pb2.GetProductRequest(sku=sku),
            contract_errors={grpc.StatusCode.NOT_FOUND: unknown_sku},
        ).product
    except DependencyError as error:
        # SOFT: the catalogue pricing last gave is good enough to fill a cart; the checkout asks pricing again.
        product = kept.product(sku) if outage(error) else None
        if product is None:
            raise
        stale = stale_marker(error)
    else:
        kept.keep([product])
    request = cart_pb2.AddItemRequest(
        user_id=user.user_id, sku=product.sku, name=product.name, quantity=quantity, unit_price=product.price
    )
    return {**cart_payload(downstreams.cart.call("AddItem", request).cart), **stale}


@bp.delete("/cart/items/<sku>")
def remove_item(sku: str) -> dict[str, Any]:
    """Remove a product's line from the cart."""
    user = inputs.current_user()
    not_in_cart = NotFound(f"SKU {sku!r} is not in your cart; GET /api/v1/cart shows what is", code="not_in_cart")
    reply = gateway().downstreams.cart.call(
        "RemoveItem",
        cart_pb2.RemoveItemRequest(user_id=user.user_id, sku=sku),
        contract_errors={grpc.StatusCode.NOT_FOUND: not_in_cart},
    )
    return cart_payload(reply.cart)


@bp.post("/cart/promo")
def set_promo_code() -> dict[str, Any]:
    """Put a promo code on the cart, once pricing confirms it exists."""
    user = inputs.current_user()
    body = inputs.json_object(PROMO_EXAMPLE)
    code = inputs.text(body, "code", inputs.MAX_PROMO_CODE_LENGTH, PROMO_EXAMPLE)
    downstreams = gateway().downstreams
    unknown_code = InvalidValue(
        f"unknown promo code {code!r}; check its spelling, or check out without one", code="unknown_promo_code"
    )
    # An empty or malformed code is just as unknown to the user as a misspelt one.
    promotion = downstreams.pricing.call(
        "GetPromotion",
        pricing_pb2.GetPromotionRequest(code=code),
        contract_errors={grpc.StatusCode.NOT_FOUND: unknown_code, grpc.StatusCode.INVALID_ARGUMENT: unknown_code},
    ).promotion
    request = cart_pb2.SetPromoCodeRequest(user_id=user.user_id, code=promotion.code)
    return cart_payload(downstreams.cart.call("SetPromoCode", request).cart)


@bp.get("/orders")
def list_orders() -> dict[str, Any]:
    """The user's orders, newest first."""
    user = inputs.current_user()
    reply = gateway().downstreams.cart.call("ListOrders", cart_pb2.ListOrdersRequest(user_id=user.user_id))
    return {"orders": [order_payload(order) for order in reply.orders]}


def outage(error: DependencyError) -> bool:
    """True when pricing failed (down, slow, refused), not when it answered that the request was wrong."""
    return error.status not in CONTRACT_ERRORS
