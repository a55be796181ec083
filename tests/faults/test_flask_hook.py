"""The gateway's hook answers matching HTTP requests with an injected error or delay, as JSON."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from flask import Flask, jsonify
from flask.testing import FlaskClient

from purchase_lab.faults import FaultStore, StaticRules
from purchase_lab.faults.engine import Injection
from purchase_lab.faults.flask_hook import EXTENSION, init_app
from purchase_lab.faults.rules import Rule, new_rule

pytestmark = pytest.mark.functional


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    @app.get("/api/v1/cart")
    def cart():
        return jsonify({"lines": []})

    @app.post("/api/v1/cart/items")
    def add_item():
        return jsonify({"added": True}), 201

    @app.delete("/api/v1/cart/items/<sku>")
    def remove_item(sku: str):
        return jsonify({"removed": sku})

    return app


@pytest.fixture
def rules() -> StaticRules:
    return StaticRules()


@pytest.fixture
def app(rules: StaticRules) -> Flask:
    app = create_app()
    init_app(app, replica=1, source=rules, rng=random.Random(11))
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def rule(**fields: object) -> Rule:
    return new_rule({"service": "gateway", **fields})


def test_with_no_rules_requests_are_served(client: FlaskClient) -> None:
    assert client.get("/api/v1/cart").status_code == 200


@pytest.mark.parametrize(("status", "retryable"), [(503, True), (500, False), (429, True)])
def test_an_error_rule_answers_with_its_status_as_json(
    client: FlaskClient, rules: StaticRules, status: int, retryable: bool
) -> None:
    bad = rule(error=status, description="the gateway is having a bad day")
    rules.set(bad)
    response = client.get("/api/v1/cart")
    assert response.status_code == status
    assert response.get_json() == {
        "error": {
            "code": "injected_fault",
            "message": f"injected fault {bad.id}: the gateway is having a bad day",
            "retryable": retryable,
        }
    }


def test_a_path_rule_hits_only_paths_under_its_prefix(client: FlaskClient, rules: StaticRules) -> None:
    rules.set(rule(error=503, method="/api/v1/cart/items"))
    assert client.get("/api/v1/cart").status_code == 200
    assert client.post("/api/v1/cart/items", json={"sku": "COF-1", "quantity": 1}).status_code == 503


def test_argument_rules_match_the_user_header_the_json_body_and_the_path(
    client: FlaskClient, rules: StaticRules
) -> None:
    rules.set(rule(error=502, user="alice"), rule(error=500, sku="cof-1"))
    assert client.get("/api/v1/cart", headers={"X-User-Id": "alice"}).status_code == 502
    assert client.get("/api/v1/cart", headers={"X-User-Id": "bob"}).status_code == 200
    assert client.post("/api/v1/cart/items", json={"sku": "COF-1", "quantity": 1}).status_code == 500
    assert client.post("/api/v1/cart/items", json={"sku": "TEA-1", "quantity": 1}).status_code == 201
    assert client.delete("/api/v1/cart/items/COF-1").status_code == 500
    assert client.post("/api/v1/cart/items", data="not json", content_type="application/json").status_code == 201


def test_a_latency_rule_delays_the_request_and_then_serves_it(client: FlaskClient, rules: StaticRules) -> None:
    rules.set(rule(latency_ms=150))
    start = time.monotonic()
    response = client.get("/api/v1/cart")
    assert response.status_code == 200
    assert time.monotonic() - start >= 0.15


def test_health_checks_are_never_faulted(client: FlaskClient, rules: StaticRules) -> None:
    rules.set(rule(error=503))
    assert client.get("/healthz").status_code == 200


def test_a_rule_for_another_replica_or_service_does_not_fire(client: FlaskClient, rules: StaticRules) -> None:
    rules.set(rule(error=503, replica=2), new_rule({"service": "cart", "error": "INTERNAL"}))
    assert client.get("/api/v1/cart").status_code == 200


def test_listeners_on_the_app_hear_each_injection(app: Flask, client: FlaskClient, rules: StaticRules) -> None:
    heard: list[Injection] = []
    app.extensions[EXTENSION].listeners.append(heard.append)
    bad = rule(error=503)
    rules.set(bad)
    client.get("/api/v1/cart")
    assert [(injection.rule, injection.method) for injection in heard] == [(bad, "/api/v1/cart")]


def test_by_default_rules_come_from_the_control_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PURCHASE_CONTROL_DIR", str(tmp_path))
    FaultStore(tmp_path).add_rule(service="gateway", error=503)
    app = create_app()
    watcher = init_app(app).source
    try:
        assert app.test_client().get("/api/v1/cart").status_code == 503
    finally:
        watcher.stop()
