"""GET /healthz: the gateway is up and serving requests, and where its circuit breakers stand.

A liveness check: dependencies are not probed. The breakers are this worker's (each gunicorn worker
has its own), so under several workers two calls may answer differently.
"""

from __future__ import annotations

import os

from flask import Blueprint

from purchase_lab.config import run_dir
from purchase_lab.deploy.state import read_inventory
from purchase_lab.releases import process_release
from purchase_lab.routing import routes_summary
from services.gateway.resources import gateway

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> dict[str, object]:
    """200 while this worker serves requests, with the state of each soft dependency's breaker.

    Dependencies are not checked here: a gateway whose soft dependency is down must stay in service,
    and each request already reports the dependency that failed it. An open breaker says one has
    been failing: its calls are not made until it has had time to recover.
    """
    return {
        "status": "ok",
        "service": "gateway",
        "worker": os.getpid(),
        "breakers": {name: breaker.snapshot().to_dict() for name, breaker in gateway().breakers.items()},
        "release": process_release(),
        "replicas": _replicas(),
    }


def _replicas() -> dict[str, object]:
    """Each dependency's replicas and releases: as the deployer routes them, else as the supervisor runs them."""
    routes = gateway().downstreams.routes
    return {**read_inventory(run_dir()), **(routes_summary(routes.routes) if routes is not None else {})}
