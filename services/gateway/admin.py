"""The admin API under /api/v1/admin: lab controls (flags, faults) for holders of the admin token.

Every route of this blueprint needs `Authorization: Bearer <PURCHASE_ADMIN_TOKEN>`. The token is
compared in constant time, and without a configured token the admin API refuses everything, so a
lab started without one can never be changed over HTTP. Route modules add their routes to `bp`.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, request

from services.gateway.errors import Unauthorized
from services.gateway.resources import gateway

bp = Blueprint("admin", __name__, url_prefix="/api/v1/admin")


@bp.before_request
def require_admin_token() -> None:
    """Refuse the request (401) unless it carries the configured bearer token."""
    expected = gateway().settings.admin_token
    if not expected:
        raise Unauthorized(
            "the admin API is off because no admin token is set; start the lab with PURCHASE_ADMIN_TOKEN "
            "(`purchase up` sets one and prints it)"
        )
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("the admin API needs the header `Authorization: Bearer <admin token>`")
    if not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise Unauthorized("the admin token is wrong; use the one `purchase up` printed (PURCHASE_ADMIN_TOKEN)")
