"""GET /openapi.json: an OpenAPI 3.0 document of the whole gateway API."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

bp = Blueprint("openapi", __name__)

JSON = "application/json"


def ref(kind: str, name: str) -> dict[str, str]:
    """A reference to a component."""
    return {"$ref": f"#/components/{kind}/{name}"}


def obj(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    """An object schema with these properties, of which `required` must be present."""
    return {"type": "object", "required": required, "properties": properties}


INTEGER = {"type": "integer", "format": "int64"}
CENTS = {"type": "integer", "format": "int64", "description": "An amount in cents (minor units); 1999 is $19.99."}
STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
CURRENCY = {"type": "string", "example": "USD", "description": "ISO 4217 code of every amount."}

LINE = obj(
    ["sku", "name", "quantity", "unit_price_cents", "line_total_cents"],
    sku=STRING,
    name=STRING,
    quantity={"type": "integer", "minimum": 1, "maximum": 99},
    unit_price_cents=CENTS,
    line_total_cents=CENTS,
)
TOTALS = {
    "lines": {"type": "array", "items": ref("schemas", "Line")},
    "subtotal_cents": CENTS,
    "adjustment_cents": CENTS,
    "adjustment_reason": {**STRING, "example": "10% off your first order"},
    "total_cents": CENTS,
    "currency": CURRENCY,
    "promo_code": STRING,
}
ORDER = {
    "type": "object",
    "required": ["order_id", "status", *TOTALS],
    "properties": {
        "order_id": STRING,
        "status": {"type": "string", "enum": ["placed", "cancelled"]},
        **TOTALS,
        "created_at": {"type": "string", "format": "date-time", "nullable": True},
        "cancel_reason": {**STRING, "description": "Why the order was cancelled; only on cancelled orders."},
    },
}
DEGRADATION = obj(
    ["dependency", "fallback", "error"],
    dependency={"type": "string", "enum": ["pricing", "email"]},
    fallback={
        "type": "string",
        "enum": ["no_adjustment", "queued", "none"],
        "description": "no_adjustment: no discount; queued: the email will be sent when email recovers.",
    },
    error={**STRING, "description": "The gRPC status the dependency failed with.", "example": "UNAVAILABLE"},
)
CHECKOUT = {
    "allOf": [
        ref("schemas", "Order"),
        obj(
            ["email", "degraded", "replayed"],
            email={"type": "string", "enum": ["sent", "queued", "not_sent"]},
            degraded={"type": "array", "items": ref("schemas", "Degradation")},
            replayed={**BOOLEAN, "description": "True when the Idempotency-Key had already placed this order."},
        ),
    ]
}
ERROR = obj(
    ["error"],
    error=obj(
        ["code", "message", "retryable"],
        code={**STRING, "example": "unknown_sku"},
        message={**STRING, "description": "What was wrong and what to do about it."},
        retryable={**BOOLEAN, "description": "True when the same request may succeed if repeated later."},
        dependency={**STRING, "description": "On a 503: the service that failed."},
        order_id={**STRING, "description": "On order_cancelled: the order that was cancelled."},
        order_status={"type": "string", "enum": ["cancelled"]},
    ),
)
SCHEMAS = {
    "Product": obj(
        ["sku", "name", "description", "category", "price_cents", "currency"],
        sku={**STRING, "example": "COF-ETH-250"},
        name=STRING,
        description=STRING,
        category=STRING,
        price_cents=CENTS,
        currency=CURRENCY,
    ),
    "ProductList": obj(["products"], products={"type": "array", "items": ref("schemas", "Product")}),
    "Line": LINE,
    "Cart": {
        "type": "object",
        "required": ["user_id", "item_count", "first_order", "discount_eligible", *TOTALS],
        "properties": {
            "user_id": STRING,
            "item_count": INTEGER,
            **TOTALS,
            "first_order": BOOLEAN,
            "discount_eligible": {**BOOLEAN, "description": "A first order, or a promo code on the cart."},
        },
    },
    "Order": ORDER,
    "OrderList": obj(["orders"], orders={"type": "array", "items": ref("schemas", "Order")}),
    "Degradation": DEGRADATION,
    "CheckoutResult": CHECKOUT,
    "AddItem": obj(["sku", "quantity"], sku=STRING, quantity={"type": "integer", "minimum": 1, "maximum": 99}),
    "PromoCode": obj(["code"], code={**STRING, "example": "SPRING15"}),
    "Health": obj(["status", "service"], status={**STRING, "example": "ok"}, service=STRING),
    "Error": ERROR,
}

PARAMETERS = {
    "UserId": {
        "name": "X-User-Id",
        "in": "header",
        "required": True,
        "description": "The shopping user.",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._@-]{1,64}$"},
    },
    "UserEmail": {
        "name": "X-User-Email",
        "in": "header",
        "required": False,
        "description": "Where the user's emails go; defaults to <user id>@example.com.",
        "schema": {"type": "string", "format": "email"},
    },
    "IdempotencyKey": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": True,
        "description": "Chosen by the client; repeating it repeats the same checkout and never orders twice.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 128},
    },
    "Sku": {"name": "sku", "in": "path", "required": True, "schema": {"type": "string"}},
}


def error_response(description: str, **headers: dict[str, Any]) -> dict[str, Any]:
    """A response with the error body."""
    response: dict[str, Any] = {"description": description, "content": {JSON: {"schema": ref("schemas", "Error")}}}
    if headers:
        response["headers"] = headers
    return response


RESPONSES = {
    "BadRequest": error_response("A header is missing or invalid, or the body is not a JSON object."),
    "NotFound": error_response("Unknown SKU, a SKU not in the cart, or an unknown route."),
    "Conflict": error_response("The cart is empty, or this Idempotency-Key's order was cancelled."),
    "TooLarge": error_response("The body is larger than 16 KiB."),
    "Unprocessable": error_response("A field holds an invalid value (quantity, SKU, promo code)."),
    "Unavailable": error_response(
        "A dependency is unavailable; the error names it. Retry after the Retry-After header's seconds.",
        **{"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."}},
    ),
}


def operation(
    summary: str,
    status: str,
    schema: str,
    *,
    parameters: tuple[str, ...] = (),
    body: str | None = None,
    errors: tuple[str, ...] = (),
    replay: bool = False,
) -> dict[str, Any]:
    """One operation: its parameters, request body, success response, and error responses incl. 503."""
    responses: dict[str, Any] = {status: success(summary, schema)}
    if replay:
        responses["200"] = success("A replay: the order this Idempotency-Key placed before.", schema)
    codes = {"BadRequest": "400", "NotFound": "404", "Conflict": "409", "TooLarge": "413", "Unprocessable": "422"}
    for name in errors:
        responses[codes[name]] = ref("responses", name)
    responses["503"] = ref("responses", "Unavailable")
    spec: dict[str, Any] = {"summary": summary, "responses": responses}
    if parameters:
        spec["parameters"] = [ref("parameters", name) for name in parameters]
    if body:
        spec["requestBody"] = {"required": True, "content": {JSON: {"schema": ref("schemas", body)}}}
    return spec


def success(description: str, schema: str) -> dict[str, Any]:
    """A successful response with a body of this schema."""
    return {"description": description, "content": {JSON: {"schema": ref("schemas", schema)}}}


USER = ("UserId", "UserEmail")
PATHS = {
    "/api/v1/products": {"get": operation("The catalogue.", "200", "ProductList")},
    "/api/v1/cart": {"get": operation("The user's cart.", "200", "Cart", parameters=USER, errors=("BadRequest",))},
    "/api/v1/cart/items": {
        "post": operation(
            "Add a quantity of a product to the cart.",
            "200",
            "Cart",
            parameters=USER,
            body="AddItem",
            errors=("BadRequest", "NotFound", "TooLarge", "Unprocessable"),
        )
    },
    "/api/v1/cart/items/{sku}": {
        "delete": operation(
            "Remove a product from the cart.",
            "200",
            "Cart",
            parameters=(*USER, "Sku"),
            errors=("BadRequest", "NotFound"),
        )
    },
    "/api/v1/cart/promo": {
        "post": operation(
            "Put a promo code on the cart.",
            "200",
            "Cart",
            parameters=USER,
            body="PromoCode",
            errors=("BadRequest", "TooLarge", "Unprocessable"),
        )
    },
    "/api/v1/checkout": {
        "post": operation(
            "Place the cart as an order.",
            "201",
            "CheckoutResult",
            parameters=(*USER, "IdempotencyKey"),
            errors=("BadRequest", "Conflict", "Unprocessable"),
            replay=True,
        )
    },
    "/api/v1/orders": {
        "get": operation(
            "The user's orders, newest first.", "200", "OrderList", parameters=USER, errors=("BadRequest",)
        )
    },
    "/healthz": {"get": {"summary": "Liveness.", "responses": {"200": success("Serving.", "Health")}}},
    "/openapi.json": {"get": {"summary": "This document.", "responses": {"200": {"description": "OpenAPI 3.0."}}}},
}

DOCUMENT = {
    "openapi": "3.0.3",
    "info": {
        "title": "Purchase Lab gateway",
        "version": "1.0.0",
        "description": "The shop's public API. Every error is "
        '{"error": {"code", "message", "retryable"}}; unknown routes answer 404, wrong methods 405.',
    },
    "paths": PATHS,
    "components": {"schemas": SCHEMAS, "parameters": PARAMETERS, "responses": RESPONSES},
}


@bp.get("/openapi.json")
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document."""
    return DOCUMENT
