"""Inject the gateway's own (server-side) faults into HTTP requests from a Flask before_request hook."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from purchase_lab.faults.engine import FaultInjector
from purchase_lab.faults.extract import facts_from_http
from purchase_lab.faults.occurrence import begin_request, end_request
from purchase_lab.faults.rules import CallFacts, Rule
from purchase_lab.faults.store import faults_path
from purchase_lab.faults.watcher import RuleSource, RuleWatcher

EXTENSION = "purchase_faults"
# Never faulted, so health checks, the admin API and the console can always see and undo a fault, and
# Prometheus can always see its effect.
EXEMPT_PATHS = ("/healthz", "/metrics", "/admin", "/api/v1/admin", "/console", "/static")
RETRYABLE_STATUSES = frozenset({408, 429, 502, 503, 504})


def init_app(
    app: Flask,
    service: str = "gateway",
    replica: int | None = None,
    source: RuleSource | None = None,
    rng: random.Random | None = None,
    exempt: Sequence[str] = EXEMPT_PATHS,
) -> FaultInjector:
    """Register the hook and return its injector, also kept in app.extensions["purchase_faults"].

    Rules come from `source`; by default a watcher of faults.json in the control directory, which the
    gateway's client interceptors should share (`injector.source`) so one thread serves the process.
    """
    if source is None:
        source = RuleWatcher(faults_path(), acknowledge=True).start()
    injector = FaultInjector(service, "server", source, replica, rng)
    app.extensions[EXTENSION] = injector

    def inject_fault() -> Response | None:
        begin_request()
        if not source.rules or _exempt(request.path, exempt):
            return None
        rules = injector.rules_for(request.path)
        injection = injector.choose(rules, request.path, _request_facts) if rules else None
        if injection is None:
            return None
        time.sleep(injection.delay_s)
        return None if injection.rule.error is None else _fault_response(injection.rule)

    app.before_request(inject_fault)
    app.teardown_request(lambda _error: end_request())
    return injector


def _exempt(path: str, exempt: Sequence[str]) -> bool:
    return any(path == prefix or path.startswith(prefix.rstrip("/") + "/") for prefix in exempt)


def _request_facts() -> CallFacts:
    try:
        body = request.get_json(silent=True) if request.is_json else None
    except HTTPException:
        # A body too large to read matches no SKU; the view will reject it with its own error.
        body = None
    return facts_from_http(request.headers, body, request.path)


def _fault_response(rule: Rule) -> Response:
    status = int(rule.error or 500)
    error = {"code": "injected_fault", "message": rule.details, "retryable": status in RETRYABLE_STATUSES}
    response = jsonify({"error": error})
    response.status_code = status
    return response
