"""The admin API's release routes: the token, listing releases, the deploy state, and every refused request."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.test import TestResponse

pytestmark = pytest.mark.functional

TOKEN = "deploy-admin-token"


@pytest.fixture
def call(
    make_app: Callable[..., Flask], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., TestResponse]:
    """Call the admin API of a gateway whose run dir is empty (no supervisor answers there)."""
    monkeypatch.setenv("PURCHASE_RUN_DIR", str(tmp_path))
    client = make_app(PURCHASE_ADMIN_TOKEN=TOKEN).test_client()

    def admin(method: str, path: str, body: object = None, token: str = TOKEN) -> TestResponse:
        return client.open(
            f"/api/v1/admin{path}", method=method, json=body, headers={"Authorization": f"Bearer {token}"}
        )

    return admin


def test_every_release_route_needs_the_token(call: Callable[..., TestResponse]) -> None:
    for method, path in (("GET", "/releases"), ("GET", "/deploys"), ("POST", "/deploys"), ("POST", "/rollbacks")):
        assert call(method, path, {}, token="wrong").status_code == 401


def test_releases_and_an_empty_deploy_state(call: Callable[..., TestResponse], tmp_path: Path) -> None:
    releases = call("GET", "/releases").get_json()["releases"]
    assert {key: value for key, value in releases[2].items() if key != "description"} == {
        "service": "pricing",
        "version": "1.1",
        "current": False,
    }
    assert call("GET", "/deploys").get_json() == {"deploy": None}
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "state.json").write_text(json.dumps({"service": "pricing", "phase": "running"}))
    assert call("GET", "/deploys").get_json()["deploy"]["phase"] == "running"
    conflict = call("POST", "/deploys", {"service": "pricing", "version": "1.2"})
    assert conflict.status_code == 409
    assert "in progress" in conflict.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"service": "tax", "version": "1.0"}, 422, "give service (one of cart, pricing, email)"),
        ({"service": "pricing", "version": "2.0"}, 404, "pricing has no release '2.0'; its releases are 1.0, 1.1"),
        ({"service": "pricing", "version": "1.2", "strategy": "yolo"}, 422, "strategy must be one of rolling"),
        ({"service": "pricing", "version": "1.2", "window": "soon"}, 422, "window must be a float"),
        ({"service": "pricing", "version": "1.2"}, 503, "no lab supervisor answers"),
    ],
)
def test_a_refused_deploy_says_why(call: Callable[..., TestResponse], body: object, status: int, says: str) -> None:
    reply = call("POST", "/deploys", body)
    assert reply.status_code == status, reply.get_json()
    assert says in reply.get_json()["error"]["message"]
