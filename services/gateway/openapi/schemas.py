"""The OpenAPI schemas: the shapes of every request and response body the gateway speaks."""

from __future__ import annotations

from typing import Any

from services.gateway.openapi.building import BOOLEAN, CENTS, CURRENCY, INTEGER, STRING, obj, ref

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
        "enum": ["no_adjustment", "queued", "none", "last_good_catalogue"],
        "description": "no_adjustment: no discount; queued: the email will be sent when email recovers; "
        "last_good_catalogue: the item was added at the price pricing last gave.",
    },
    error={
        **STRING,
        "description": "The gRPC status the dependency failed with, or BREAKER_OPEN (the call was not made) or "
        "BUDGET_EXHAUSTED (the checkout's time budget ran out).",
        "example": "UNAVAILABLE",
    },
)
# Only on adding to the cart while pricing fails: the catalogue pricing last gave was used (docs/checkout.md).
STALE_CATALOGUE = {
    "stale": {**BOOLEAN, "description": "Present (true) only when the catalogue pricing last gave was used."},
    "degraded": {"type": "array", "items": ref("schemas", "Degradation")},
}
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
# A string field the gateway refuses when empty or only spaces.
NON_BLANK = {"minLength": 1, "pattern": "\\S"}
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
    applied={
        "$ref": "#/components/schemas/Applied",
        "description": "After a change only: whether every running process serves it now.",
    },
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
            **STALE_CATALOGUE,
        },
    },
    "Order": ORDER,
    "OrderList": obj(["orders"], orders={"type": "array", "items": ref("schemas", "Order")}),
    "Degradation": DEGRADATION,
    "CheckoutResult": CHECKOUT,
    "AddItem": obj(
        ["sku", "quantity"],
        sku={**STRING, **NON_BLANK, "maxLength": 64},
        quantity={"type": "integer", "minimum": 1, "maximum": 99},
    ),
    "PromoCode": obj(["code"], code={**STRING, **NON_BLANK, "maxLength": 32, "example": "SPRING15"}),
    "Health": obj(
        ["status", "service", "worker", "breakers"],
        status={**STRING, "example": "ok"},
        service=STRING,
        worker={**INTEGER, "description": "The pid of the gunicorn worker that answered."},
        breakers={
            "type": "object",
            "description": "This worker's circuit breaker per soft dependency (pricing, email).",
            "additionalProperties": obj(
                ["state", "consecutive_failures", "opened_total"],
                state={"type": "string", "enum": ["closed", "open", "half_open"]},
                consecutive_failures=INTEGER,
                opened_total=INTEGER,
            ),
        },
        flags=obj(
            ["version", "source", "lab"],
            version={**STRING, "nullable": True, "description": "The version of the flags this worker serves."},
            source={**STRING, "nullable": True, "description": "live, last-good, or none (no valid flags)."},
            lab=obj(
                ["agree", "versions", "problems", "summary"],
                agree={**BOOLEAN, "description": "True when every process of the lab serves the same flags."},
                versions={
                    "type": "object",
                    "description": "The processes serving each flags version.",
                    "additionalProperties": {"type": "array", "items": STRING},
                },
                problems={"type": "array", "items": STRING},
                summary=STRING,
            ),
        ),
        problems={"type": "array", "items": STRING, "description": "Why status is degraded."},
    ),
    "Error": ERROR,
    "FaultRule": obj(["service"], **FAULT_FIELDS, ttl_s=FAULT_TTL),
    "Fault": FAULT,
    "Applied": obj(
        ["acknowledged", "seconds", "processes", "missing"],
        acknowledged={**BOOLEAN, "description": "True when every running process applied the change."},
        seconds={"type": "number", "description": "How long the wait for them took."},
        processes={**INTEGER, "description": "The running processes that follow this control."},
        missing={"type": "array", "items": STRING, "description": "Those that had not applied it in 5 s."},
    ),
    "FaultCreated": obj(["fault", "applied"], fault=ref("schemas", "Fault"), applied=ref("schemas", "Applied")),
    "FaultList": obj(["faults"], faults=FAULTS),
    "FaultsRemoved": obj(["removed", "applied"], removed=FAULTS, applied=ref("schemas", "Applied")),
    "FaultRemoved": obj(["removed", "applied"], removed=ref("schemas", "Fault"), applied=ref("schemas", "Applied")),
    "Scenario": obj(
        ["name", "title", "does", "student_sees", "rules"],
        name={**STRING, "example": "email-down"},
        title=STRING,
        **SCENARIO_TEXT,
        rules={"type": "array", "items": ref("schemas", "FaultRule")},
    ),
    "ScenarioList": obj(["scenarios"], scenarios={"type": "array", "items": ref("schemas", "Scenario")}),
    "ScenarioApplied": obj(
        ["scenario", "does", "student_sees", "faults", "applied"],
        scenario=STRING,
        **SCENARIO_TEXT,
        faults=FAULTS,
        applied=ref("schemas", "Applied"),
    ),
    "Features": obj(["flags"], flags={**FLAG_VALUES, "example": {"pricing.loyalty_discount": False}}),
    "FlagStatus": FLAG_STATUS,
    "FlagList": obj(["flags"], flags={"type": "array", "items": ref("schemas", "FlagStatus")}),
    "FlagValue": obj(["value"], value={"type": "string", "enum": ["on", "off"]}),
    "Ramp": obj(["percent"], percent={"type": "integer", "minimum": 0, "maximum": 100}),
    "NamedUser": obj(["user_id"], user_id={**STRING, "example": "u-42"}),
    "FlagEvaluation": obj(["user_id", "employee", "flags"], user_id=STRING, employee=BOOLEAN, flags=FLAG_VALUES),
    "ResetResult": obj(
        ["reset", "flags", "applied"],
        reset={"type": "array", "items": STRING, "description": "What each reset did."},
        flags={"type": "array", "items": ref("schemas", "FlagStatus")},
        applied=obj(["flags", "faults"], flags=ref("schemas", "Applied"), faults=ref("schemas", "Applied")),
    ),
    # The ops console's own admin routes (services/gateway/admin_console.py; docs/console.md).
    "ConsoleOverview": obj(
        ["nodes", "edges", "employee_domain", "fault_options"],
        nodes={"type": "array", "items": ref("schemas", "ConsoleNode")},
        edges={"type": "array", "items": ref("schemas", "ConsoleEdge")},
        employee_domain={**STRING, "example": "purchase.example"},
        fault_options={"type": "object", "description": "Each service's methods and the gRPC status names."},
        flags={"type": "object", "description": "Whether every process serves the same flags (agree, summary)."},
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
    "Release": obj(
        ["service", "version", "description", "current"],
        service=STRING,
        version={**STRING, "example": "1.2"},
        description=STRING,
        current=BOOLEAN,
    ),
    "ReleaseList": obj(["releases"], releases={"type": "array", "items": ref("schemas", "Release")}),
    "DeployStatus": obj(
        ["deploy"],
        deploy={
            "type": "object",
            "nullable": True,
            "description": "service, from, version, strategy, phase, events [{time, message}], gate (the last "
            "decision: verdict, baseline, candidate, checks, markdown)",
        },
    ),
    "DeployRequest": obj(
        ["service", "version"],
        service={"type": "string", "enum": ["cart", "pricing", "email"]},
        version={**STRING, "example": "1.2"},
        strategy={"type": "string", "enum": ["rolling", "blue-green", "canary"], "default": "rolling"},
        batch={**INTEGER, "minimum": 1, "default": 1},
        weight={"type": "number", "default": 10},
        window={"type": "number", "default": 10},
        keep_old={"type": "number", "default": 30},
        min_calls={**INTEGER, "minimum": 1, "default": 20},
    ),
    "RollbackRequest": obj(["service"], service={"type": "string", "enum": ["cart", "pricing", "email"]}),
    "DeployStarted": obj(["started", "follow"], started={"type": "object"}, follow=STRING),
    "DeployStopped": obj(["message"], message=STRING),
}
