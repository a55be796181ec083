"""The admin API's fault routes: list, add, remove and clear fault rules, and apply named scenarios.

They live on the admin blueprint, so every route needs the admin token. Each change is the same
FaultStore call `purchase fault ...` makes, on faults.json in the control dir; every process of the
lab follows that file, and each change answers once every running process has applied it, saying so in
`applied` (see purchase_lab/confirm.py). See docs/faults.md for the rule fields.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, Response, current_app, jsonify, request

from purchase_lab.confirm import check_replica_runs, wait_for_faults
from purchase_lab.faults import SCENARIOS, FaultFileError, FaultStore, Rule, RuleError, UnknownRule, UnknownScenario
from services.gateway import inputs
from services.gateway.admin import bp
from services.gateway.errors import BadRequest, Conflict, InvalidValue, NotFound, shop_error_response

EXTENSION = "purchase_fault_store"
RULE_EXAMPLE = '{"service": "pricing", "error": "UNAVAILABLE", "rate": 0.5, "ttl_s": 120}'
SCENARIO_EXAMPLE = '{"ttl_s": 120} (or no body)'


def init_app(app: Flask, store: FaultStore | None = None) -> None:
    """Give the routes their store (the control dir's by default) and answer fault errors with their status."""
    app.extensions[EXTENSION] = store or FaultStore()
    app.register_error_handler(RuleError, rule_error_response)
    app.register_error_handler(
        UnknownRule, lambda error: shop_error_response(NotFound(str(error), code="unknown_fault"))
    )
    app.register_error_handler(
        UnknownScenario, lambda error: shop_error_response(NotFound(str(error), code="unknown_scenario"))
    )
    app.register_error_handler(
        FaultFileError, lambda error: shop_error_response(Conflict(str(error), code="invalid_faults_file"))
    )


def rule_error_response(error: RuleError) -> Response:
    """422 naming every problem with the rule, each with what to write instead."""
    message = f"the fault rule was refused: {error}"
    return shop_error_response(InvalidValue(message, code="invalid_rule", problems=list(error.problems)))


def _store() -> FaultStore:
    return current_app.extensions[EXTENSION]


def rule_payload(rule: Rule) -> dict[str, Any]:
    """A rule as stored, plus the whole seconds it has left."""
    return {**rule.to_dict(), "expires_in_s": max(0, round(rule.expires_at - time.time()))}


@bp.get("/faults")
def list_faults() -> dict[str, Any]:
    """The active rules, oldest first."""
    return {"faults": [rule_payload(rule) for rule in _store().list_rules()]}


@bp.post("/faults")
def add_fault() -> tuple[Response, int]:
    """Add one rule, given as a JSON object of rule fields: 201 with the rule, 422 naming every problem."""
    fields = inputs.json_object(RULE_EXAMPLE)
    if fields.get("replica") not in (None, "") and fields.get("side", "server") == "server":
        check_replica_runs(str(fields.get("service")), fields["replica"], _store().directory)
    rule = _store().add_rule(**fields)
    return jsonify({"fault": rule_payload(rule), "applied": _applied()}), 201


def _applied() -> dict[str, Any]:
    """Wait until every running process follows the rule file, and say how that went."""
    return wait_for_faults(_store().directory).to_dict()


@bp.delete("/faults")
def clear_faults() -> dict[str, Any]:
    """Remove every rule, or with ?service=pricing every rule of one service."""
    service = request.args.get("service")
    if service == "":
        # An empty ?service= is a mistake, never a request to remove every rule.
        raise BadRequest("?service= is empty; name a service such as pricing, or leave it out to remove every rule")
    removed = _store().clear(service)
    return {"removed": [rule_payload(rule) for rule in removed], "applied": _applied()}


@bp.delete("/faults/<rule_id>")
def remove_fault(rule_id: str) -> dict[str, Any]:
    """Remove one rule by its id; 404 when no active rule has it."""
    return {"removed": rule_payload(_store().remove_rule(rule_id)), "applied": _applied()}


@bp.get("/scenarios")
def list_scenarios() -> dict[str, Any]:
    """Every named scenario: what it does, what a student should see, and its rules."""
    return {
        "scenarios": [
            {
                "name": scenario.name,
                "title": scenario.title,
                "does": scenario.does,
                "student_sees": scenario.student_sees,
                "rules": [dict(fields) for fields in scenario.rules],
            }
            for scenario in SCENARIOS.values()
        ]
    }


@bp.post("/scenarios/<name>")
def apply_scenario(name: str) -> tuple[Response, int]:
    """Apply a scenario (replacing what an earlier run of it left); an optional {"ttl_s": N} sets its expiry."""
    ttl = inputs.json_object(SCENARIO_EXAMPLE).get("ttl_s") if request.get_data() else None
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int | float)):
        raise RuleError([f"ttl_s={ttl!r} is not a number; give seconds from 1 to 3600"])
    rules = _store().apply_scenario(name, ttl)
    scenario = SCENARIOS[name]
    payload = {"scenario": name, "does": scenario.does, "student_sees": scenario.student_sees}
    return jsonify({**payload, "faults": [rule_payload(rule) for rule in rules], "applied": _applied()}), 201
