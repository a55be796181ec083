"""GET /healthz: the gateway is up and serving requests (a liveness check; dependencies are not probed)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    """200 while this worker serves requests.

    Dependencies are not checked here: a gateway whose soft dependency is down must stay in service,
    and each request already reports the dependency that failed it.
    """
    return {"status": "ok", "service": "gateway"}
