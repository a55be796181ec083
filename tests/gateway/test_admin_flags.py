"""The admin API's flag routes: the bearer token, each rollout step, what a user gets, reset, and every error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from purchase_lab.config import Settings
from purchase_lab.faults import FaultStore
from purchase_lab.flags import COMMITTED_FLAGS, LOYALTY_DISCOUNT, FeatureFlags, UserContext, kill
from services.gateway.app import create_app
from tests.conftest import flag_reached
from tests.gateway.conftest import Fakes, resources

pytestmark = pytest.mark.functional

TOKEN = "s3cret-admin-token"
FLAGS = "/api/v1/admin/flags"
LOYALTY = f"{FLAGS}/{LOYALTY_DISCOUNT}"
# Every admin flag route with a body it accepts.
ROUTES = [
    ("GET", FLAGS, None),
    ("PUT", LOYALTY, {"value": "on"}),
    ("PUT", f"{LOYALTY}/ramp", {"percent": 10}),
    ("PUT", f"{LOYALTY}/employees", None),
    ("POST", f"{LOYALTY}/users", {"user_id": "u-42"}),
    ("POST", f"{LOYALTY}/kill", None),
    ("GET", f"{FLAGS}/evaluate?user_id=u-42", None),
    ("POST", "/api/v1/admin/reset", None),
]


@pytest.fixture
def live_flags(flags_path: Path) -> Iterator[FeatureFlags]:
    """The gateway's flags, evaluating this test's live file."""
    flags = FeatureFlags.start(flags_path)
    yield flags
    flags.stop()


def make_client(fakes: Fakes, redis_url: str, flags: FeatureFlags, token: str) -> FlaskClient:
    """A gateway whose admin API takes this token (none: the admin API is off)."""
    env = {f"PURCHASE_{name.upper()}_TARGET": target for name, target in fakes.targets.items()}
    env |= {"PURCHASE_REDIS_URL": redis_url, "PURCHASE_ADMIN_TOKEN": token}
    app = create_app(Settings.from_env(env), flags=flags)
    app.config["TESTING"] = True
    return app.test_client()


@pytest.fixture
def client(fakes: Fakes, redis_url: str, live_flags: FeatureFlags) -> Iterator[FlaskClient]:
    """The gateway with the admin token TOKEN."""
    client = make_client(fakes, redis_url, live_flags, TOKEN)
    yield client
    resources(client.application).close()


def admin(client: FlaskClient, method: str, path: str, body: object = None, token: str = TOKEN) -> TestResponse:
    """Call the admin API with the bearer token."""
    return client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {token}"})


def ok(reply: TestResponse) -> Any:
    """The body of a 200 reply; fails with the error otherwise."""
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, "needs the header `Authorization: Bearer <admin token>`"),
        ("Bearer wrong-token", "the admin token is wrong"),
        (f"Basic {TOKEN}", "needs the header `Authorization: Bearer <admin token>`"),
    ],
)
def test_every_route_refuses_a_missing_or_wrong_token_and_changes_nothing(
    client: FlaskClient, flags_path: Path, method: str, path: str, body: object, authorization: str | None, message: str
) -> None:
    before = flags_path.read_bytes()
    headers = {"Authorization": authorization} if authorization else {}

    reply = client.open(path, method=method, json=body, headers=headers)

    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert message in reply.get_json()["error"]["message"]
    assert flags_path.read_bytes() == before


def test_without_a_configured_token_the_admin_api_is_off(
    fakes: Fakes, redis_url: str, live_flags: FeatureFlags
) -> None:
    client = make_client(fakes, redis_url, live_flags, "")
    try:
        reply = admin(client, "GET", FLAGS, token="")
    finally:
        resources(client.application).close()

    assert reply.status_code == 401
    assert "no admin token is set" in reply.get_json()["error"]["message"]


def test_listing_gives_each_flag_its_rollout_in_words(client: FlaskClient) -> None:
    listed = {flag["key"]: flag for flag in ok(admin(client, "GET", FLAGS))["flags"]}

    assert {key: flag["summary"] for key, flag in listed.items()} == {
        "checkout.fallbacks": "on for everyone",
        LOYALTY_DISCOUNT: "off for everyone",
    }
    assert listed[LOYALTY_DISCOUNT]["rollout"] == {"state": "ENABLED", "percent": 0, "employees": False, "users": []}
    assert (listed[LOYALTY_DISCOUNT]["default"], listed[LOYALTY_DISCOUNT]["client_visible"]) == (False, True)


def test_each_rollout_step_changes_the_live_file_and_says_what_it_did(client: FlaskClient, flags_path: Path) -> None:
    steps = [
        ("POST", f"{LOYALTY}/users", {"user_id": "u-42"}, "on only for user u-42"),
        ("PUT", f"{LOYALTY}/employees", None, "on for employees, and user u-42"),
        ("PUT", f"{LOYALTY}/ramp", {"percent": 5}, "on for employees + 5% of everyone else, and user u-42"),
        ("POST", f"{LOYALTY}/kill", None, "killed: everyone gets the code default (kept for later: on for employees"),
        ("PUT", LOYALTY, {"value": True}, "on for everyone"),
        ("PUT", LOYALTY, {"value": "off"}, "off for everyone"),
    ]
    for method, path, body, summary in steps:
        status = ok(admin(client, method, path, body))

        assert status["summary"].startswith(summary)
        on_disk = json.loads(flags_path.read_text(encoding="utf-8"))["flags"][LOYALTY_DISCOUNT]
        assert on_disk["state"] == status["state"]


def test_a_change_reaches_the_flags_this_gateway_serves(client: FlaskClient, live_flags: FeatureFlags) -> None:
    ok(admin(client, "POST", f"{LOYALTY}/users", {"user_id": "u-42"}))
    flag_reached(live_flags, LOYALTY_DISCOUNT, UserContext("u-42"), True)

    assert ok(admin(client, "GET", f"{FLAGS}/evaluate?user_id=u-42")) == {
        "user_id": "u-42",
        "employee": False,
        "flags": {"checkout.fallbacks": True, LOYALTY_DISCOUNT: True},
    }
    assert ok(admin(client, "GET", f"{FLAGS}/evaluate?user_id=u-7&email=ada@purchase.example"))["employee"] is True


def test_reset_restores_the_committed_flags_and_removes_every_fault(client: FlaskClient, flags_path: Path) -> None:
    kill(LOYALTY_DISCOUNT, flags_path)
    faults = FaultStore(flags_path.parent)
    faults.add_rule(service="pricing", method="GetAdjustment", error="UNAVAILABLE")

    body = ok(admin(client, "POST", "/api/v1/admin/reset"))

    assert [line.split(":")[0] for line in body["reset"]] == ["flags", "faults"]
    assert [flag["summary"] for flag in body["flags"]] == ["on for everyone", "off for everyone"]
    assert flags_path.read_bytes() == COMMITTED_FLAGS.read_bytes()
    assert faults.list_rules() == []


ERRORS = [
    # (method, path, body, status, code, words in the message)
    ("PUT", f"{FLAGS}/loyalty/ramp", {"percent": 10}, 404, "unknown_flag", "no flag is called 'loyalty'; known flags"),
    ("POST", f"{FLAGS}/nope/kill", None, 404, "unknown_flag", "no flag is called 'nope'"),
    ("PUT", f"{LOYALTY}/ramp", {"percent": 101}, 422, "invalid_rollout", "from 0 to 100, got 101"),
    ("PUT", f"{LOYALTY}/ramp", {"percent": "10"}, 422, "invalid_rollout", "whole number from 0 to 100, got '10'"),
    ("PUT", LOYALTY, {"value": "yes"}, 422, "invalid_rollout", "set 'on' or 'off', got 'yes'"),
    ("POST", f"{LOYALTY}/users", {"user_id": "a;b"}, 422, "invalid_user", "user id 'a;b' is not valid"),
    ("POST", f"{LOYALTY}/users", {"user_id": 42}, 422, "invalid_user", "user id 42 is not valid"),
    ("PUT", f"{LOYALTY}/ramp", {}, 400, "missing_field", "the body has no 'percent'; send an object such as"),
    ("PUT", LOYALTY, [1], 400, "invalid_json", "the body is not a JSON object"),
    ("GET", f"{FLAGS}/evaluate", None, 400, "missing_parameter", "the user_id query parameter is missing"),
    ("GET", f"{FLAGS}/evaluate?user_id=a%20b", None, 422, "invalid_user", "user id 'a b' is not valid"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code", "words"), ERRORS)
def test_bad_input_is_refused_with_its_status_and_what_to_do(
    client: FlaskClient, flags_path: Path, method: str, path: str, body: object, status: int, code: str, words: str
) -> None:
    before = flags_path.read_bytes()

    reply = admin(client, method, path, body)

    assert reply.status_code == status
    error = reply.get_json()["error"]
    assert (error["code"], error["retryable"]) == (code, False)
    assert words in error["message"]
    assert flags_path.read_bytes() == before


def test_a_user_cannot_be_added_to_a_killed_flag_or_to_hand_written_targeting(
    client: FlaskClient, flags_path: Path
) -> None:
    kill(LOYALTY_DISCOUNT, flags_path)
    killed = admin(client, "POST", f"{LOYALTY}/users", {"user_id": "u-42"})
    document = json.loads(COMMITTED_FLAGS.read_text(encoding="utf-8"))
    document["flags"][LOYALTY_DISCOUNT]["targeting"] = {"if": [{"ends_with": [{"var": "email"}, ".org"]}, "on", "off"]}
    flags_path.write_text(json.dumps(document), encoding="utf-8")
    custom = admin(client, "POST", f"{LOYALTY}/users", {"user_id": "u-42"})

    assert (killed.status_code, killed.get_json()["error"]["code"]) == (409, "flag_killed")
    assert "first run `purchase flag set pricing.loyalty_discount off`" in killed.get_json()["error"]["message"]
    assert (custom.status_code, custom.get_json()["error"]["code"]) == (409, "custom_targeting")


def test_a_broken_live_file_is_a_409_naming_where_and_reset_repairs_it(client: FlaskClient, flags_path: Path) -> None:
    flags_path.write_text(flags_path.read_text(encoding="utf-8").replace('"ENABLED"', '"ON"', 1), encoding="utf-8")

    for method, path, body in [("GET", FLAGS, None), ("PUT", f"{LOYALTY}/ramp", {"percent": 5})]:
        reply = admin(client, method, path, body)
        assert (reply.status_code, reply.get_json()["error"]["code"]) == (409, "invalid_flags_file")
        assert "flags.checkout.fallbacks.state: is 'ON'" in reply.get_json()["error"]["message"]
        assert "run `purchase reset`" in reply.get_json()["error"]["message"]

    ok(admin(client, "POST", "/api/v1/admin/reset"))
    assert flags_path.read_bytes() == COMMITTED_FLAGS.read_bytes()
