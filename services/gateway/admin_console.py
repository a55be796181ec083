"""The ops console's own admin API: the live topology, time series for its charts, checkouts, the outbox.

The routes live on the admin blueprint, so each one needs the admin token. Health is asked live on
every call (the gRPC health service of every replica, Redis PING), each with a short timeout and all
at once, so one dead or hung node never holds the page up.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlparse

import redis
from flask import Flask, current_app, request
from purchase.email.v1 import email_pb2

from purchase_lab.acks import flag_agreement, running
from purchase_lab.breaker import BreakerState
from purchase_lab.config import Settings, employee_domain, run_dir
from purchase_lab.deploy.state import read_inventory
from purchase_lab.faults import FaultFileError, FaultStore
from purchase_lab.faults.rules import GRPC_ERRORS, METHODS
from purchase_lab.flags import CHECKOUT_FALLBACKS, InvalidFlagsFile, list_flags
from purchase_lab.health import grpc_serving
from services.gateway import admin_faults, features, ops_log
from services.gateway.admin import bp
from services.gateway.checkout_table import rows_payload
from services.gateway.errors import BadRequest, DependencyError, Unavailable
from services.gateway.ops_checkouts import worker_breakers
from services.gateway.resources import gateway

T = TypeVar("T")

HEALTH_TIMEOUT_S = 0.3
# Checkouts this recent that saw a dependency fail mark it degraded, though its health check passes.
RECENT_S = 10
MAX_WINDOW_S = ops_log.KEEP_S
GRPC_SERVICES = ("cart", "pricing", "email")
# "ipv4:" or "dns:///" in front of a gRPC target; replicas are its comma-separated addresses.
_TARGET_SCHEME = re.compile(r"^(?:ipv4|ipv6|dns|unix):(?://[^/]*/)?")


def _edge(name: str, kind: str) -> dict[str, Any]:
    """An edge from the gateway to a service, explained by that service's rows of the checkout's table."""
    rows = [row for row in rows_payload() if row["dependency"] == name]
    return {
        "to": name,
        "kind": kind,
        **({"guard": CHECKOUT_FALLBACKS} if kind == "soft" else {}),
        "fallback": "; ".join(f"step {row['step']}: {row['on']}" for row in rows),
        "steps": rows,
    }


# The topology's edges; what a failure of each does comes from the checkout's table (checkout_table.py).
EDGES = (
    _edge("cart", "hard"),
    _edge("pricing", "soft"),
    _edge("email", "soft"),
    {
        "to": "redis",
        "kind": "soft",
        "fallback": "holds the email queue and this console's history; without it a refused email is not sent",
        "steps": [],
    },
)


def init_app(app: Flask, settings: Settings) -> None:
    """Give the console its ops log (on the lab's Redis) and count every shop API request in it."""
    ops_log.init_app(app, ops_log.OpsLog.from_url(settings.redis_url))


def target_addresses(target: str) -> list[str]:
    """The addresses in a gRPC target: one, or every replica's of an `ipv4:a,b,c` target."""
    return [address.strip() for address in _TARGET_SCHEME.sub("", target).split(",") if address.strip()]


@bp.get("/overview")
def overview() -> dict[str, Any]:
    """The topology with each node's live health, the edges hard or soft, and what the page's forms offer."""
    settings = gateway().settings
    # The supervisor's record of each service's processes and releases, when the gateway runs under one.
    inventory = read_inventory(run_dir())
    targets = {
        name: [replica["address"] for replica in inventory[name]]
        if inventory.get(name)
        else target_addresses(getattr(settings, f"{name}_target"))
        for name in GRPC_SERVICES
    }
    releases = {replica["address"]: replica["release"] for found in inventory.values() for replica in found}
    probes = [address for addresses in targets.values() for address in addresses]
    ops = ops_log.ops_log()
    with ThreadPoolExecutor(max_workers=len(probes) + 1) as pool:
        redis_up = pool.submit(ops.ping)
        serving = dict(
            zip(probes, pool.map(lambda address: grpc_serving(address, HEALTH_TIMEOUT_S), probes), strict=True)
        )
    recent = _recent_counts(ops) if redis_up.result() else {}
    breakers = _breakers(ops, redis_up.result(), settings.checkout.breaker_open_ms / 1000)
    faults = _faults_per_service()
    nodes = [_gateway_node(settings, faults.get("gateway", 0))]
    for name, addresses in targets.items():
        replicas = [
            {"replica": index, "address": address, "up": serving[address], "release": releases.get(address, "")}
            for index, address in enumerate(addresses, 1)
        ]
        node = _grpc_node(name, replicas, breakers.get(name, {}), recent, faults.get(name, 0), settings.gateway_workers)
        nodes.append(node)
    nodes.append(_redis_node(settings, redis_up.result()))
    return {
        "nodes": nodes,
        "edges": [{"from": "gateway", **edge} for edge in EDGES],
        "employee_domain": employee_domain(),
        "fault_options": {"methods": dict(METHODS), "errors": list(GRPC_ERRORS)},
        # Whether every process serves the same flags (see purchase_lab/acks.py): the console warns when not.
        "flags": flag_agreement(running(features.live_flags().path.parent)).to_dict(),
    }


def _gateway_node(settings: Settings, faults: int) -> dict[str, Any]:
    address = f"{settings.host}:{settings.ports.gateway}"
    detail = f"{settings.gateway_workers} workers of {settings.gateway_threads} threads"
    return {
        "name": "gateway",
        "status": "up",
        "detail": detail,
        "replicas": [{"replica": 1, "address": address, "up": True}],
        "faults": faults,
    }


def _grpc_node(
    name: str,
    replicas: list[dict[str, Any]],
    breakers: Mapping[str, str],
    recent: Mapping[str, int],
    faults: int,
    workers: int,
) -> dict[str, Any]:
    """A service's status: down, breaker open, degraded (some replicas, or recent failures) or up.

    breakers holds its circuit breaker's state in each gateway worker that reported one (each worker has
    its own; one that served no checkout lately has a closed breaker); workers is how many gunicorn runs.
    A half-open breaker lets its next call through, so only an open one marks the node.
    """
    up = sum(replica["up"] for replica in replicas)
    failed, reached = recent.get(f"dep:{name}:failed", 0), recent.get(f"dep:{name}:checkouts", 0)
    tripped = [state for state in breakers.values() if state == BreakerState.OPEN.value]
    breaker = (tripped or list(breakers.values()) or [None])[0]
    if not up:
        status, detail = "down", "no replica answers its health check"
    elif tripped:
        where = f"in {len(tripped)} of {max(workers, len(breakers))} gateway workers"
        status, detail = "breaker_open", f"the circuit breaker is open {where}: their calls are not made"
    elif up < len(replicas):
        status, detail = "degraded", f"{up} of {len(replicas)} replicas answer their health check"
    elif failed:
        status, detail = "degraded", f"failed {failed} of {reached} checkouts in the last {RECENT_S} s"
    else:
        status, detail = "up", "answers its health check"
    return {
        "name": name,
        "status": status,
        "detail": detail,
        "replicas": replicas,
        "breaker": breaker,
        "faults": faults,
    }


def _redis_node(settings: Settings, up: bool) -> dict[str, Any]:
    backlog = _email_backlog() if up else None
    detail = "answers PING" if up else "does not answer PING"
    if backlog:
        detail += f"; {backlog} email{'s' if backlog != 1 else ''} queued"
    replicas = [{"replica": 1, "address": urlparse(settings.redis_url).netloc.rpartition("@")[2], "up": up}]
    return {
        "name": "redis",
        "status": "up" if up else "down",
        "detail": detail,
        "replicas": replicas,
        "faults": 0,
        "email_queue": backlog,
    }


def _email_backlog() -> int | None:
    try:
        return gateway().email_queue.backlog()
    except redis.RedisError:
        return None


def _recent_counts(ops: ops_log.OpsLog) -> dict[str, int]:
    try:
        series = ops.series(RECENT_S)["series"]
    except redis.RedisError:
        return {}
    return {name: sum(values) for name, values in series.items() if not name.startswith("ramp:")}


def _faults_per_service() -> dict[str, int]:
    store = current_app.extensions.get(admin_faults.EXTENSION) or FaultStore()
    try:
        rules = store.list_rules()
    except FaultFileError:
        return {}
    counts: dict[str, int] = {}
    for rule in rules:
        counts[rule.service] = counts.get(rule.service, 0) + 1
    return counts


def _breakers(ops: ops_log.OpsLog, redis_up: bool, open_s: float) -> dict[str, dict[str, str]]:
    """Each dependency's circuit breaker state per gateway worker: this one's now, the others' as published."""
    try:
        states = ops.breaker_states(open_s) if redis_up else {}
    except redis.RedisError:
        states = {}
    for name, state in worker_breakers().items():
        states.setdefault(name, {})[ops_log.worker_id()] = state
    return states


@bp.get("/stats")
def stats() -> dict[str, Any]:
    """Per-second counters of the last `window` seconds (default 300) and each flag's rollout now."""
    window = _int_arg("window", 300, 10, MAX_WINDOW_S)
    flags = _flag_ramps()
    ops = ops_log.ops_log()
    ops.sample_ramps({flag["key"]: flag["percent"] for flag in flags if flag["percent"] is not None})
    return {**_read(lambda: ops.series(window)), "flags": flags}


def _flag_ramps() -> list[dict[str, Any]]:
    """Each flag's share of users on: its ramp percentage (0 when killed; None for custom targeting)."""
    try:
        statuses = list_flags(features.live_flags().path)
    except InvalidFlagsFile:
        return []
    ramps = []
    for status in statuses:
        if status.state == "MISSING":
            percent: int | None = 100 if status.default else 0
        elif status.rollout is None:
            percent = None
        else:
            percent = 0 if status.state == "DISABLED" else status.rollout.percent
        ramps.append({"key": status.key, "percent": percent, "state": status.state, "summary": status.summary})
    return ramps


@bp.get("/checkouts")
def checkouts() -> dict[str, Any]:
    """The most recent checkouts (`limit`, default 30), newest first, with their result and degradations."""
    limit = _int_arg("limit", 30, 1, ops_log.MAX_CHECKOUTS)
    return {"checkouts": _read(lambda: ops_log.ops_log().recent_checkouts(limit))}


@bp.get("/outbox")
def outbox() -> dict[str, Any]:
    """The newest emails in the email service's outbox (`limit`, default 20), asked of email itself."""
    limit = _int_arg("limit", 20, 1, 100)
    try:
        reply = gateway().downstreams.email.call("ListOutbox", email_pb2.ListOutboxRequest(limit=limit))
    except DependencyError as error:
        # Answered without a log line: the page asks every second, and email being down is the lab's point.
        raise Unavailable(
            "email",
            f"the email service cannot list its outbox ({error.status.name}); "
            "emails the checkout could not send wait in the gateway's queue until it is back",
            queued=_email_backlog(),
        ) from error
    return {"emails": [email_payload(message) for message in reply.messages], "queued": _email_backlog()}


def email_payload(message: email_pb2.EmailMessage) -> dict[str, Any]:
    """One recorded email as the console lists it: who got what, for which order, when (not its text)."""
    return {
        "message_id": message.message_id,
        "kind": email_pb2.EmailKind.Name(message.kind).removeprefix("EMAIL_KIND_").lower(),
        "to": message.to,
        "user_id": message.user_id,
        "order_id": message.order_id,
        "subject": message.subject,
        "created_at": message.created_at.ToJsonString() if message.HasField("created_at") else None,
    }


def _read(read: Callable[[], T]) -> T:
    try:
        return read()
    except redis.RedisError as error:
        raise Unavailable(
            "redis",
            f"the console's history is in Redis, which does not answer ({error}); start it with `purchase start redis`",
        ) from error


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequest(
            f"{name}={raw[:20]!r} is not allowed; give a whole number from {low} to {high}", code="invalid_parameter"
        )
    return int(raw)
