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
        problems={"type": "array", "items": STRING, "description": "On invalid_rule: every problem with the rule."},
    ),
)
FLAG_VALUES = {"type": "object", "additionalProperties": BOOLEAN, "description": "Each flag's value, by name."}
FLAG_STATUS = obj(
    ["key", "description", "state", "rollout", "summary", "default", "client_visible"],
    key={**STRING, "example": "pricing.loyalty_discount"},
    description=STRING,
    state={"type": "string", "enum": ["ENABLED", "DISABLED", "MISSING"]},
    rollout={
        **obj(
            ["state", "percent", "employees", "users"],
            state=STRING,
            percent=INTEGER,
            employees=BOOLEAN,
            users={"type": "array", "items": STRING},
        ),
        "nullable": True,
        "description": "Null when the targeting was written by hand.",
    },
    summary={**STRING, "example": "on for employees + 5% of everyone else"},
    default={**BOOLEAN, "description": "The code default: what everyone gets when the flag is killed."},
    client_visible={**BOOLEAN, "description": "Whether GET /api/v1/features reports it."},
)
# A fault rule's fields; docs/faults.md says what each one does.
FAULT_FIELDS: dict[str, Any] = {
    "service": {"type": "string", "enum": ["cart", "pricing", "email", "gateway"]},
    "side": {"type": "string", "enum": ["server", "client"], "description": "client: the gateway's own client."},
    "method": {**STRING, "description": "A gRPC method such as GetAdjustment; at the gateway an HTTP path prefix."},
    "replica": {"type": "integer", "minimum": 1, "maximum": 99, "description": "Server side only."},
    "error": {
        "oneOf": [STRING, {"type": "integer", "minimum": 400, "maximum": 599}],
        "description": "A gRPC status name; `unreachable` on the client side; an HTTP status at the gateway.",
        "example": "UNAVAILABLE",
    },
    "latency_ms": {"type": "integer", "minimum": 0, "maximum": 60000},
    "jitter_ms": {"type": "integer", "minimum": 0, "maximum": 60000},
    "rate": {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 1, "default": 1},
    "user": STRING,
    "sku": STRING,
    "promo": STRING,
    "description": {**STRING, "maxLength": 200},
}
FAULT_TTL = {
    "type": "number",
    "minimum": 1,
    "maximum": 3600,
    "default": 300,
    "description": "Seconds until it expires.",
}
FAULT = obj(
    ["id", "service", "side", "latency_ms", "jitter_ms", "rate", "created_at", "expires_at", "expires_in_s"],
    id={**STRING, "example": "f-3fa9c1"},
    **FAULT_FIELDS,
    created_at={"type": "number", "description": "Unix time."},
    expires_at={"type": "number", "description": "Unix time."},
    expires_in_s=INTEGER,
)
FAULTS = {"type": "array", "items": ref("schemas", "Fault")}
SCENARIO_TEXT = {"does": STRING, "student_sees": {**STRING, "description": "What a student should see."}}
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
    "FaultRule": obj(["service"], **FAULT_FIELDS, ttl_s=FAULT_TTL),
    "Fault": FAULT,
    "FaultCreated": obj(["fault"], fault=ref("schemas", "Fault")),
    "FaultList": obj(["faults"], faults=FAULTS),
    "FaultsRemoved": obj(["removed"], removed=FAULTS),
    "FaultRemoved": obj(["removed"], removed=ref("schemas", "Fault")),
    "Scenario": obj(
        ["name", "title", "does", "student_sees", "rules"],
        name={**STRING, "example": "email-down"},
        title=STRING,
        **SCENARIO_TEXT,
        rules={"type": "array", "items": ref("schemas", "FaultRule")},
    ),
    "ScenarioList": obj(["scenarios"], scenarios={"type": "array", "items": ref("schemas", "Scenario")}),
    "ScenarioApplied": obj(
        ["scenario", "does", "student_sees", "faults"], scenario=STRING, **SCENARIO_TEXT, faults=FAULTS
    ),
    "Features": obj(["flags"], flags={**FLAG_VALUES, "example": {"pricing.loyalty_discount": False}}),
    "FlagStatus": FLAG_STATUS,
    "FlagList": obj(["flags"], flags={"type": "array", "items": ref("schemas", "FlagStatus")}),
    "FlagValue": obj(["value"], value={"type": "string", "enum": ["on", "off"]}),
    "Ramp": obj(["percent"], percent={"type": "integer", "minimum": 0, "maximum": 100}),
    "NamedUser": obj(["user_id"], user_id={**STRING, "example": "u-42"}),
    "FlagEvaluation": obj(["user_id", "employee", "flags"], user_id=STRING, employee=BOOLEAN, flags=FLAG_VALUES),
    "ResetResult": obj(
        ["reset", "flags"],
        reset={"type": "array", "items": STRING, "description": "What each reset did."},
        flags={"type": "array", "items": ref("schemas", "FlagStatus")},
    ),
    # The ops console's own admin routes (services/gateway/admin_console.py; docs/console.md).
    "ConsoleOverview": obj(
        ["nodes", "edges", "employee_domain", "fault_options"],
        nodes={"type": "array", "items": ref("schemas", "ConsoleNode")},
        edges={"type": "array", "items": ref("schemas", "ConsoleEdge")},
        employee_domain={**STRING, "example": "purchase.example"},
        fault_options={"type": "object", "description": "Each service's methods and the gRPC status names."},
    ),
    "ConsoleNode": obj(
        ["name", "status", "detail", "replicas", "faults"],
        name={"type": "string", "enum": ["gateway", "cart", "pricing", "email", "redis"]},
        status={"type": "string", "enum": ["up", "degraded", "down", "breaker_open"]},
        detail={**STRING, "example": "failed 3 of 3 checkouts in the last 10 s"},
        replicas={
            "type": "array",
            "items": obj(["replica", "address", "up"], replica=INTEGER, address=STRING, up=BOOLEAN),
        },
        breaker={**STRING, "nullable": True, "description": "The circuit breaker's state, when there is one."},
        faults={**INTEGER, "description": "Active fault rules for this service."},
        email_queue={**INTEGER, "nullable": True, "description": "On redis: emails waiting to be delivered."},
    ),
    "ConsoleEdge": obj(
        ["from", "to", "kind", "fallback"],
        **{"from": STRING},
        to=STRING,
        kind={"type": "string", "enum": ["hard", "soft"]},
        guard={**STRING, "description": "The flag that makes a soft edge hard when it is off."},
        fallback={**STRING, "description": "What the checkout does when this dependency fails."},
    ),
    "ConsoleStats": obj(
        ["start", "step_s", "points", "series", "flags"],
        start={**INTEGER, "description": "Unix second of the first point."},
        step_s=INTEGER,
        points=INTEGER,
        series={
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "integer", "nullable": True}},
            "description": "Counter name -> one value per second, such as dep:email:failed; ramp:<flag> in percent.",
        },
        flags={
            "type": "array",
            "items": obj(
                ["key", "percent", "state", "summary"],
                key=STRING,
                percent={**INTEGER, "nullable": True},
                state=STRING,
                summary=STRING,
            ),
        },
    ),
    "ConsoleCheckout": obj(
        ["at", "user_id", "employee", "status", "outcome", "duration_ms", "flags", "degraded"],
        at={"type": "number", "description": "Unix time."},
        user_id={**STRING, "nullable": True},
        employee=BOOLEAN,
        status=INTEGER,
        outcome={"type": "string", "enum": ["placed", "replayed", "rejected", "failed"]},
        duration_ms={"type": "number"},
        flags=FLAG_VALUES,
        order_id={**STRING, "nullable": True},
        total_cents={**CENTS, "nullable": True},
        currency={**STRING, "nullable": True},
        email={"type": "string", "enum": ["sent", "queued", "not_sent"], "nullable": True},
        degraded={"type": "array", "items": ref("schemas", "Degradation")},
        error={"type": "object", "nullable": True, "description": "code, message and dependency of a 4xx or 5xx."},
    ),
    "ConsoleCheckouts": obj(["checkouts"], checkouts={"type": "array", "items": ref("schemas", "ConsoleCheckout")}),
    "ConsoleOutbox": obj(
        ["emails", "queued"],
        emails={
            "type": "array",
            "items": obj(
                ["message_id", "kind", "to", "user_id", "order_id", "subject", "created_at"],
                message_id=STRING,
                kind={"type": "string", "enum": ["order_confirmation", "discount"]},
                to=STRING,
                user_id=STRING,
                order_id=STRING,
                subject=STRING,
                created_at={"type": "string", "format": "date-time", "nullable": True},
            ),
        },
        queued={**INTEGER, "nullable": True, "description": "Emails waiting in the gateway's queue."},
    ),
}

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
    "AppVersion": {
        "name": "X-App-Version",
        "in": "header",
        "required": False,
        "description": "The client's version; feature flags may target it.",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$", "example": "2.4.1"},
    },
    "FlagKey": {"name": "key", "in": "path", "required": True, "description": "A flag's name.", "schema": STRING},
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


USER = ("UserId", "UserEmail", "AppVersion")
# The query parameters of the console's routes: their minimum, maximum and default.
CONSOLE_WINDOW = {"minimum": 10, "maximum": 900, "default": 300}
CONSOLE_CHECKOUTS = {"minimum": 1, "maximum": 200, "default": 30}
CONSOLE_EMAILS = {"minimum": 1, "maximum": 100, "default": 20}
FLAG = ("FlagKey",)
FLAG_ERRORS = ("BadRequest", "NotFound", "Conflict", "Unprocessable")
# The admin API's rollout steps on /api/v1/admin/flags/{key}<step>: method, summary, request body.
FLAG_STEPS = {
    "": ("put", "Turn a flag on or off for everyone.", "FlagValue"),
    "/ramp": ("put", "Turn a flag on for employees plus a sticky percentage of everyone else.", "Ramp"),
    "/employees": ("put", "Turn a flag on for employees only.", None),
    "/users": ("post", "Turn a flag on for one more named user.", "NamedUser"),
    "/kill": ("post", "Kill switch: everyone gets the flag's code default.", None),
}
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
    "/api/v1/features": {
        "get": operation(
            "Each client-visible feature flag's value for the user.",
            "200",
            "Features",
            parameters=USER,
            errors=("BadRequest",),
        )
    },
    "/api/v1/admin/flags": {"get": operation("Every flag and its rollout.", "200", "FlagList", admin=True)},
    **{
        f"/api/v1/admin/flags/{{key}}{step}": {
            method: operation(summary, "200", "FlagStatus", parameters=FLAG, body=body, errors=FLAG_ERRORS, admin=True)
        }
        for step, (method, summary, body) in FLAG_STEPS.items()
    },
    "/api/v1/admin/flags/evaluate": {
        "get": {
            **operation(
                "Every flag's value for a user, as this gateway process serves it.",
                "200",
                "FlagEvaluation",
                errors=("BadRequest", "Unprocessable"),
                admin=True,
            ),
            "parameters": [
                {"name": name, "in": "query", "required": name == "user_id", "schema": STRING}
                for name in ("user_id", "email", "app_version")
            ],
        }
    },
    "/api/v1/admin/reset": {
        "post": operation(
            "Put flags and faults back to their committed defaults.",
            "200",
            "ResetResult",
            errors=("Conflict",),
            admin=True,
        )
    },
    "/api/v1/admin/faults": {
        "get": operation("The active fault rules, oldest first.", "200", "FaultList", admin=True),
        "post": operation(
            "Add a fault rule; 422 names every problem with it.",
            "201",
            "FaultCreated",
            body="FaultRule",
            errors=("BadRequest", "Conflict", "Unprocessable"),
            admin=True,
        ),
        "delete": {
            **operation("Remove every fault rule, or those of ?service=.", "200", "FaultsRemoved", admin=True),
            "parameters": [{"name": "service", "in": "query", "required": False, "schema": FAULT_FIELDS["service"]}],
        },
    },
    "/api/v1/admin/faults/{rule_id}": {
        "delete": {
            **operation("Remove one fault rule.", "200", "FaultRemoved", errors=("NotFound", "Conflict"), admin=True),
            "parameters": [{"name": "rule_id", "in": "path", "required": True, "schema": STRING}],
        }
    },
    "/api/v1/admin/scenarios": {
        "get": operation("The named lab scenarios and what each should show.", "200", "ScenarioList", admin=True)
    },
    "/api/v1/admin/scenarios/{name}": {
        "post": {
            **operation(
                'Apply a scenario; an optional body {"ttl_s": 120} sets when its rules expire.',
                "201",
                "ScenarioApplied",
                errors=("NotFound", "Conflict", "Unprocessable"),
                admin=True,
            ),
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": STRING}],
        }
    },
    "/api/v1/admin/overview": {
        "get": operation(
            "The topology, each node's live health, and its hard and soft edges.", "200", "ConsoleOverview", admin=True
        )
    },
    **{
        f"/api/v1/admin/{name}": {
            "get": {
                **operation(summary, "200", schema, errors=("BadRequest",), admin=True),
                "parameters": [
                    {"name": parameter, "in": "query", "required": False, "schema": {"type": "integer", **limits}}
                ],
            }
        }
        for name, summary, schema, parameter, limits in (
            ("stats", "Per-second counters for the console's charts.", "ConsoleStats", "window", CONSOLE_WINDOW),
            ("checkouts", "The latest checkouts, newest first.", "ConsoleCheckouts", "limit", CONSOLE_CHECKOUTS),
            ("outbox", "The newest emails in the email service's outbox.", "ConsoleOutbox", "limit", CONSOLE_EMAILS),
        )
    },
    "/console": {
        "get": {
            "summary": "The ops console: an HTML page that asks for the admin token (docs/console.md).",
            "responses": {"200": {"description": "The page.", "content": {"text/html": {"schema": STRING}}}},
        }
    },
    "/console/static/{filename}": {
        "get": {
            "summary": "The console's scripts and styles.",
            "parameters": [{"name": "filename", "in": "path", "required": True, "schema": STRING}],
            "responses": {"200": {"description": "The file."}, "404": ref("responses", "NotFound")},
        }
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
    "components": {
        "schemas": SCHEMAS,
        "parameters": PARAMETERS,
        "responses": RESPONSES,
        "securitySchemes": {"AdminToken": {"type": "http", "scheme": "bearer"}},
    },
}


@bp.get("/openapi.json")
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document."""
    return DOCUMENT
