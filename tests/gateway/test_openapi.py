"""The OpenAPI document describes exactly the routes the app serves, and /healthz answers."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

pytestmark = pytest.mark.functional

# Flask adds these to every route by itself; the document need not list them.
IMPLICIT_METHODS = {"HEAD", "OPTIONS"}


def served_operations(app: Flask) -> set[tuple[str, str]]:
    """(path in OpenAPI form, method) for every route of the app."""
    return {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        for method in rule.methods - IMPLICIT_METHODS
    }


def refs(node: object) -> list[str]:
    """Every $ref in a JSON document."""
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [ref for value in node.values() for ref in refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in refs(value)]
    return []


def test_every_route_is_documented_and_every_documented_route_is_served(app: Flask, client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()

    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}

    assert document["openapi"].startswith("3.0")
    # /metrics is served only when the app has telemetry (always in the real gateway; see test_telemetry).
    assert documented == served_operations(app) | {("/metrics", "get")}


def test_every_reference_in_the_document_resolves(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()

    for ref in refs(document):
        node = document
        for part in ref.removeprefix("#/").split("/"):
            assert part in node, f"{ref} does not resolve"
            node = node[part]


def test_every_documented_header_and_path_parameter_is_described(client: FlaskClient) -> None:
    parameters = client.get("/openapi.json").get_json()["components"]["parameters"]

    assert {p["name"] for p in parameters.values()} == {
        "X-User-Id",
        "X-User-Email",
        "X-App-Version",
        "Idempotency-Key",
        "sku",
        "key",
        "scope",
    }
    assert all(p["schema"] and p["in"] in {"header", "path", "query"} for p in parameters.values())


def test_healthz_answers_ok_without_asking_any_dependency(client: FlaskClient, fakes) -> None:
    fakes.cart.faults.fail()

    reply = client.get("/healthz")

    body = reply.get_json()
    assert (reply.status_code, body["status"], body["service"]) == (200, "ok", "gateway")
    assert body["breakers"]["pricing"]["state"] == "closed"
    assert set(body["breakers"]) == {"pricing", "email"}
