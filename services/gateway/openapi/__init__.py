"""GET /openapi.json: an OpenAPI 3.0 document of the whole gateway API, built from schemas.py and paths.py."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from services.gateway.openapi.building import PARAMETERS, RESPONSES
from services.gateway.openapi.paths import PATHS
from services.gateway.openapi.schemas import SCHEMAS

bp = Blueprint("openapi", __name__)

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
