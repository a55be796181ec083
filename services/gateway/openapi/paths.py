"""The OpenAPI paths: every route of the gateway with its parameters, body and responses."""

from __future__ import annotations

from services.gateway.openapi.building import STRING, operation, ref, success
from services.gateway.openapi.schemas import FAULT_FIELDS

USER = ("UserId", "UserEmail", "AppVersion")
# The query parameters of the console's routes: their minimum, maximum and default.
CONSOLE_WINDOW = {"minimum": 10, "maximum": 900, "default": 300}
CONSOLE_CHECKOUTS = {"minimum": 1, "maximum": 200, "default": 30}
CONSOLE_EMAILS = {"minimum": 1, "maximum": 100, "default": 20}
FLAG = ("FlagKey",)
# What purchase_lab/flags/context.py accepts for a user (tests/gateway/test_openapi.py compares).
EVALUATE_PARAMETERS = {
    "user_id": "^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$",
    "email": "^[!-?A-~]{1,64}@[A-Za-z0-9.-]{1,189}$",
    "app_version": "^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$",
}
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
            errors=("BadRequest", "NotFound", "Unprocessable"),
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
                {"name": name, "in": "query", "required": name == "user_id", "schema": {**STRING, "pattern": pattern}}
                for name, pattern in EVALUATE_PARAMETERS.items()
            ],
        }
    },
    "/api/v1/admin/reset": {
        "post": operation(
            "Put flags and faults back to their committed defaults, or empty the shop (scope=data), or both.",
            "200",
            "ResetResult",
            parameters=("ResetScope",),
            errors=("BadRequest", "Conflict"),
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
            **operation(
                "Remove every fault rule, or those of ?service=.",
                "200",
                "FaultsRemoved",
                errors=("BadRequest", "Unprocessable"),
                admin=True,
            ),
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
    "/favicon.ico": {
        "get": {
            "summary": "The console's icon (an SVG), where browsers look for one.",
            "responses": {"200": {"description": "The icon.", "content": {"image/svg+xml": {}}}},
        }
    },
    "/healthz": {
        "get": {
            "summary": "Liveness, this worker's breakers, and the flags it and the lab serve.",
            "responses": {
                "200": success("Serving.", "Health"),
                "503": success("This worker has no valid flags to serve.", "Health"),
            },
        }
    },
    "/metrics": {
        "get": {
            "summary": "Prometheus metrics of every gateway worker (404 when OTEL_SDK_DISABLED=true).",
            "responses": {"200": {"description": "The Prometheus text format.", "content": {"text/plain": {}}}},
        }
    },
    "/openapi.json": {"get": {"summary": "This document.", "responses": {"200": {"description": "OpenAPI 3.0."}}}},
    # Releases and deploys (docs/releases.md).
    "/api/v1/admin/releases": {"get": operation("Every release of every service.", "200", "ReleaseList", admin=True)},
    "/api/v1/admin/deploys": {
        "get": operation("The deploy in progress or the last one.", "200", "DeployStatus", admin=True),
        "post": operation(
            "Start a deploy (the lab's supervisor runs it); follow it with GET.",
            "202",
            "DeployStarted",
            body="DeployRequest",
            errors=("BadRequest", "NotFound", "Conflict", "Unprocessable"),
            admin=True,
        ),
    },
    "/api/v1/admin/deploys/stop": {
        "post": operation("Ask the running deploy to stop at its next safe point.", "200", "DeployStopped", admin=True)
    },
    "/api/v1/admin/rollbacks": {
        "post": operation(
            "Return a service's replicas to their previous release in one step; follow it with GET /deploys.",
            "202",
            "DeployStarted",
            body="RollbackRequest",
            errors=("BadRequest", "Conflict", "Unprocessable"),
            admin=True,
        )
    },
}
