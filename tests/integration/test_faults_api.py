"""The admin API's fault routes on the real gateway: token required, rules checked, changes live."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Lab
from tests.integration.faults_lab import admin, clear, get, settle, start_lab, store

pytestmark = pytest.mark.integration

ROUTES = [
    ("GET", "/faults"),
    ("POST", "/faults"),
    ("DELETE", "/faults"),
    ("DELETE", "/faults/f-123456"),
    ("GET", "/scenarios"),
    ("POST", "/scenarios/email-down"),
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The whole system with an admin token."""
    yield from start_lab(tmp_path_factory.mktemp("faults-api"))


@pytest.fixture(autouse=True)
def no_faults_after(lab: Lab) -> Iterator[None]:
    """Every test starts and ends without faults."""
    yield
    clear(lab)


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("token", [None, "not-the-token"], ids=["no token", "wrong token"])
def test_every_fault_route_needs_the_admin_token(lab: Lab, method: str, path: str, token: str | None) -> None:
    reply = admin(lab, method, path, {"service": "pricing", "error": "INTERNAL"}, token=token)

    assert reply.status == 401
    assert reply.body["error"]["code"] == "unauthorized"
    assert store(lab).list_rules() == []


def test_a_rule_added_listed_and_removed_over_the_api_acts_on_the_gateway(lab: Lab) -> None:
    added = admin(lab, "POST", "/faults", {"service": "pricing", "method": "ListProducts", "error": "INTERNAL"})
    assert added.status == 201
    rule_id = added.body["fault"]["id"]
    settle(lab)
    assert get(lab, "/api/v1/products").status == 503

    listed = admin(lab, "GET", "/faults").body["faults"]
    assert [(rule["id"], rule["service"], rule["error"]) for rule in listed] == [(rule_id, "pricing", "INTERNAL")]
    assert 290 <= listed[0]["expires_in_s"] <= 300

    removed = admin(lab, "DELETE", f"/faults/{rule_id}")
    assert (removed.status, removed.body["removed"]["id"]) == (200, rule_id)
    settle(lab)
    assert get(lab, "/api/v1/products").status == 200


def test_a_bad_rule_is_refused_with_every_problem(lab: Lab) -> None:
    reply = admin(lab, "POST", "/faults", {"service": "pricing", "error": "BROKEN", "rate": 5, "colour": "red"})

    assert reply.status == 422
    error = reply.body["error"]
    assert error["code"] == "invalid_rule"
    assert len(error["problems"]) == 3
    assert any(problem.startswith("unknown field 'colour'") for problem in error["problems"])
    assert any("error='BROKEN' is not a gRPC status; use one of:" in problem for problem in error["problems"])
    assert any(problem.startswith("rate=5 is out of range") for problem in error["problems"])
    assert store(lab).list_rules() == []


def test_a_body_that_is_not_a_json_object_is_a_400(lab: Lab) -> None:
    reply = admin(lab, "POST", "/faults", ["pricing"])

    assert (reply.status, reply.body["error"]["code"]) == (400, "invalid_json")


def test_an_unknown_rule_or_scenario_is_a_404(lab: Lab) -> None:
    rule = admin(lab, "DELETE", "/faults/f-000000")
    scenario = admin(lab, "POST", "/scenarios/meteor-strike")

    assert (rule.status, rule.body["error"]["code"]) == (404, "unknown_fault")
    assert "`purchase fault list`" in rule.body["error"]["message"]
    assert (scenario.status, scenario.body["error"]["code"]) == (404, "unknown_scenario")
    assert "email-down" in scenario.body["error"]["message"]


def test_clearing_one_service_leaves_the_others_rules(lab: Lab) -> None:
    for service in ("pricing", "pricing", "email"):
        assert admin(lab, "POST", "/faults", {"service": service, "latency_ms": 1}).status == 201

    reply = admin(lab, "DELETE", "/faults?service=pricing")

    assert [rule["service"] for rule in reply.body["removed"]] == ["pricing", "pricing"]
    assert [rule.service for rule in store(lab).list_rules()] == ["email"]


def test_a_scenario_applied_over_the_api_says_what_to_look_for_and_acts(lab: Lab) -> None:
    listed = admin(lab, "GET", "/scenarios").body["scenarios"]
    assert {scenario["name"] for scenario in listed} >= {"email-down", "pricing-slow", "bad-deploy", "cart-crash"}

    reply = admin(lab, "POST", "/scenarios/cart-crash", {"ttl_s": 30})

    assert reply.status == 201
    assert "hard dependency" in reply.body["student_sees"]
    assert [rule["expires_in_s"] <= 30 for rule in reply.body["faults"]] == [True]
    settle(lab)
    assert get(lab, "/api/v1/cart", "u-api-crash").status == 503


def test_a_damaged_rule_file_is_a_409_that_says_to_reset(lab: Lab) -> None:
    Path(lab.env["PURCHASE_CONTROL_DIR"], "faults.json").write_text("{not json", encoding="utf-8")

    reply = admin(lab, "GET", "/faults")

    assert (reply.status, reply.body["error"]["code"]) == (409, "invalid_faults_file")
    assert "purchase reset" in reply.body["error"]["message"]
    assert get(lab, "/api/v1/products").status == 200  # the processes keep the last good rules
