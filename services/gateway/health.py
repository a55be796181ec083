"""GET /healthz: the gateway is up and serving requests, and where its circuit breakers stand.

A liveness check: dependencies are not probed. The breakers are this worker's (each gunicorn worker
has its own), so under several workers two calls may answer differently. It also says which flags this
worker serves and whether every process of the lab serves the same (from their acks, purchase_lab/acks.py):
503 when this worker has no valid flags at all, `"status": "degraded"` when the lab's processes disagree.
It names this gateway's release too, and each dependency's replicas with the release each runs.
"""

from __future__ import annotations

import os

from flask import Blueprint

from purchase_lab.acks import flag_agreement, running
from purchase_lab.config import run_dir
from purchase_lab.deploy.state import read_inventory
from purchase_lab.releases import process_release
from purchase_lab.routing import routes_summary
from services.gateway.features import live_flags
from services.gateway.resources import gateway

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[dict[str, object], int]:
    """200 while this worker serves requests, with the state of each soft dependency's breaker.

    Dependencies are not checked here: a gateway whose soft dependency is down must stay in service,
    and each request already reports the dependency that failed it. An open breaker says one has
    been failing: its calls are not made until it has had time to recover.
    """
    flags = live_flags().started()
    lab = flag_agreement(running(live_flags().path.parent))
    problems = [flags.problem] if flags is not None and flags.problem else []
    problems += [] if lab.agree else [lab.summary()]
    body = {
        "status": "degraded" if problems else "ok",
        "service": "gateway",
        "worker": os.getpid(),
        "breakers": {name: breaker.snapshot().to_dict() for name, breaker in gateway().breakers.items()},
        "flags": {
            "version": flags.version if flags is not None else None,
            "source": flags.source if flags is not None else None,
            "lab": lab.to_dict(),
        },
        "problems": problems,
        "release": process_release(),
        "replicas": _replicas(),
    }
    return body, 503 if flags is not None and flags.problem else 200


def _replicas() -> dict[str, object]:
    """Each dependency's replicas and releases: as the deployer routes them, else as the supervisor runs them."""
    routes = gateway().downstreams.routes
    return {**read_inventory(run_dir()), **(routes_summary(routes.routes) if routes is not None else {})}
