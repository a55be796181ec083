"""The building blocks of the OpenAPI document: references, schema shapes, parameters, responses, operations."""

from __future__ import annotations

from typing import Any

from services.gateway.inputs import EMAIL_PATTERN

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


PARAMETERS = {
    "UserId": {
        "name": "X-User-Id",
        "in": "header",
        "required": True,
        "description": "The shopping user.",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"},
    },
    "UserEmail": {
        "name": "X-User-Email",
        "in": "header",
        "required": False,
        "description": "Where the user's emails go; defaults to <user id>@example.com.",
        # The gateway's own check, loose on purpose (see inputs.py); an empty header is refused.
        "schema": {"type": "string", "pattern": f"^{EMAIL_PATTERN}$"},
    },
    "IdempotencyKey": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": True,
        "description": "Chosen by the client; repeating it repeats the same checkout and never orders twice.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 128},
    },
    "Sku": {"name": "sku", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[!-~]{1,64}$"}},
    "AppVersion": {
        "name": "X-App-Version",
        "in": "header",
        "required": False,
        "description": "The client's version; feature flags may target it.",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$", "example": "2.4.1"},
    },
    "FlagKey": {"name": "key", "in": "path", "required": True, "description": "A flag's name.", "schema": STRING},
    "ResetScope": {
        "name": "scope",
        "in": "query",
        "required": False,
        "description": "controls: flags and faults; data: every cart, order and email; all: both.",
        "schema": {"type": "string", "enum": ["controls", "data", "all"], "default": "controls"},
    },
}


def error_response(description: str, **headers: dict[str, Any]) -> dict[str, Any]:
    """A response with the error body."""
    response: dict[str, Any] = {"description": description, "content": {JSON: {"schema": ref("schemas", "Error")}}}
    if headers:
        response["headers"] = headers
    return response


RESPONSES = {
    "BadRequest": error_response("A header is missing or invalid, or the body is not a JSON object."),
    "NotFound": error_response("Unknown SKU, a SKU not in the cart, an unknown flag, or an unknown route."),
    "Conflict": error_response(
        "The cart is empty, or this Idempotency-Key's order was cancelled; for a flag: it is killed, its "
        "targeting was written by hand, or the live flags file is broken."
    ),
    "TooLarge": error_response("The body is larger than 16 KiB."),
    "Unprocessable": error_response("A field holds an invalid value (quantity, SKU, promo code, percent, user id)."),
    "Unauthorized": error_response("The admin API needs `Authorization: Bearer <PURCHASE_ADMIN_TOKEN>`."),
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
    admin: bool = False,
) -> dict[str, Any]:
    """One operation: its parameters, request body, success response, and error responses incl. 503.

    An admin operation needs the admin token, and answers 401 without it.
    """
    responses: dict[str, Any] = {status: success(summary, schema)}
    if replay:
        responses["200"] = success("A replay: the order this Idempotency-Key placed before.", schema)
    codes = {"BadRequest": "400", "NotFound": "404", "Conflict": "409", "TooLarge": "413", "Unprocessable": "422"}
    for name in errors:
        responses[codes[name]] = ref("responses", name)
    responses["503"] = ref("responses", "Unavailable")
    spec: dict[str, Any] = {"summary": summary, "responses": responses}
    if admin:
        responses["401"] = ref("responses", "Unauthorized")
        spec["security"] = [{"AdminToken": []}]
    if parameters:
        spec["parameters"] = [ref("parameters", name) for name in parameters]
    if body:
        spec["requestBody"] = {"required": True, "content": {JSON: {"schema": ref("schemas", body)}}}
    return spec


def success(description: str, schema: str) -> dict[str, Any]:
    """A successful response with a body of this schema."""
    return {"description": description, "content": {JSON: {"schema": ref("schemas", schema)}}}
