"""The admin API's release routes: list releases, start a deploy or a rollback, follow it, stop it.

They live on the admin blueprint, so every route needs the admin token. The lab's supervisor does the
work, as for `purchase deploy`: a deploy started here is sent to it over the run dir's control socket
on a background thread, and its progress is read from the deploy state in the run dir (GET /deploys).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from flask import Flask, request

from purchase_lab.config import run_dir
from purchase_lab.control import NoLabRunning, send
from purchase_lab.deploy.deployer import STRATEGIES
from purchase_lab.deploy.state import FINAL_PHASES, read_state
from purchase_lab.releases import CURRENT, RELEASES, UnknownRelease, find_release
from purchase_lab.topology import GRPC_SERVICES
from services.gateway.admin import bp
from services.gateway.errors import BadRequest, Conflict, InvalidValue, NotFound, Unavailable, shop_error_response

DEPLOY_EXAMPLE = '{"service": "pricing", "version": "1.2", "strategy": "canary", "weight": 10, "window": 20}'
# Fields a deploy request may carry besides service and version, with their types.
OPTIONS = {"strategy": str, "batch": int, "weight": float, "window": float, "keep_old": float, "min_calls": int}
DEPLOY_TIMEOUT = 3600.0


def init_app(app: Flask) -> None:
    """Answer an unknown service or release with 404 naming the releases there are."""
    app.register_error_handler(
        UnknownRelease, lambda error: shop_error_response(NotFound(str(error), code="unknown_release"))
    )


@bp.get("/releases")
def list_releases() -> dict[str, Any]:
    """Every release of every service, as `purchase releases --json` lists them."""
    return {"releases": [r.to_dict(CURRENT[s]) for s, found in RELEASES.items() for r in found]}


@bp.get("/deploys")
def deploy_status() -> dict[str, Any]:
    """The deploy in progress or the last one (`purchase deploy status`); null when none ran."""
    return {"deploy": read_state(run_dir())}


@bp.post("/deploys")
def start_deploy() -> tuple[dict[str, Any], int]:
    """Start a deploy; 202 at once, then follow it with GET /deploys."""
    body = _body()
    service, version = body.get("service"), body.get("version")
    if service not in GRPC_SERVICES or not isinstance(version, str):
        raise InvalidValue(f"give service (one of {', '.join(GRPC_SERVICES)}) and version, such as {DEPLOY_EXAMPLE}")
    find_release(service, version)
    if body.get("strategy", "rolling") not in STRATEGIES:
        raise InvalidValue(f"strategy must be one of {', '.join(STRATEGIES)}")
    options = {}
    for name, kind in OPTIONS.items():
        if name in body:
            try:
                options[name] = kind(body[name])
            except (TypeError, ValueError):
                raise InvalidValue(f"{name} must be a {kind.__name__}; for example {DEPLOY_EXAMPLE}") from None
    _start({"op": "deploy", "service": service, "version": version, **options})
    return {"started": {"service": service, "version": version, **options}, "follow": "GET /api/v1/admin/deploys"}, 202


@bp.post("/rollbacks")
def start_rollback() -> tuple[dict[str, Any], int]:
    """Roll a service back to its previous release; 202 at once, then follow it with GET /deploys."""
    service = _body().get("service")
    if service not in GRPC_SERVICES:
        raise InvalidValue(f'give service, one of {", ".join(GRPC_SERVICES)}: {{"service": "pricing"}}')
    _start({"op": "rollback", "service": service})
    return {"started": {"rollback": service}, "follow": "GET /api/v1/admin/deploys"}, 202


@bp.post("/deploys/stop")
def stop_deploy() -> dict[str, Any]:
    """Ask the running deploy to stop at its next safe point (as Ctrl-C in `purchase deploy` does)."""
    return {"message": _ask({"op": "deploy-stop"})["message"]}


def _body() -> Mapping[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest(f"send a JSON object, such as {DEPLOY_EXAMPLE}")
    return body


def _start(message: Mapping[str, Any]) -> None:
    state = read_state(run_dir())
    if state is not None and state["phase"] not in FINAL_PHASES:
        raise Conflict(f"a deploy of {state['service']} is in progress; follow or stop it first", code="deploy_running")
    _ask({"op": "status"})  # fail now, with a clear error, when no supervisor answers
    threading.Thread(target=_send_quietly, args=(message,), name="deploy-request", daemon=True).start()


def _send_quietly(message: Mapping[str, Any]) -> None:
    # The outcome is in the deploy state; the reply only repeats it.
    try:
        send(run_dir(), message, timeout=DEPLOY_TIMEOUT)
    except (NoLabRunning, OSError):
        return


def _ask(message: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return send(run_dir(), message, timeout=10)
    except (NoLabRunning, OSError, ValueError) as error:
        raise Unavailable("supervisor", f"no lab supervisor answers ({error}); deploys need `purchase up`") from None
