"""The console's admin API through the Flask test client: behind the token, the topology, checkouts, charts, outbox."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from flask import Flask
from flask.testing import FlaskClient

from purchase_lab.breaker import CircuitBreaker
from purchase_lab.config import Settings
from purchase_lab.faults.watcher import StaticRules
from purchase_lab.flags import FeatureFlags
from services.gateway import ops_log
from services.gateway.app import create_app
from services.gateway.resources import EXTENSION
from tests.console.conftest import AUTH, TOKEN, Fakes

pytestmark = pytest.mark.functional

CONSOLE_ROUTES = ("/overview", "/stats", "/checkouts", "/outbox")


def checkout(client: FlaskClient, user_id: str, key: str = "key-1") -> dict:
    """Fill the user's cart with one mug and check out; the JSON reply, plus its HTTP status as http_status."""
    added = client.post("/api/v1/cart/items", json={"sku": "MUG-001", "quantity": 1}, headers={"X-User-Id": user_id})
    assert added.status_code == 200
    reply = client.post("/api/v1/checkout", headers={"X-User-Id": user_id, "Idempotency-Key": key})
    return {**reply.get_json(), "http_status": reply.status_code}


def admin_get(client: FlaskClient, path: str) -> dict:
    """GET an admin route with the token; assert it answered 200."""
    reply = client.get(f"/api/v1/admin{path}", headers=AUTH)
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


@pytest.mark.parametrize("route", CONSOLE_ROUTES)
@pytest.mark.parametrize(
    ("headers", "says"),
    [({}, "needs the header"), ({"Authorization": "Bearer wrong"}, "admin token is wrong")],
    ids=["no token", "wrong token"],
)
def test_console_routes_refuse_requests_without_the_token(
    client: FlaskClient, route: str, headers: dict[str, str], says: str
) -> None:
    reply = client.get(f"/api/v1/admin{route}", headers=headers)
    assert reply.status_code == 401
    assert says in reply.get_json()["error"]["message"]


def test_overview_shows_each_node_live_with_its_replicas_and_edges(client: FlaskClient, fakes: Fakes) -> None:
    overview = admin_get(client, "/overview")
    nodes = {node["name"]: node for node in overview["nodes"]}
    assert list(nodes) == ["gateway", "cart", "pricing", "email", "redis"]
    assert nodes["cart"]["status"] == "up"
    assert nodes["email"]["status"] == "up"
    assert nodes["redis"]["status"] == "up"
    # pricing runs as two replicas here, and only the first one is alive
    assert nodes["pricing"]["status"] == "degraded"
    assert [(r["replica"], r["address"], r["up"]) for r in nodes["pricing"]["replicas"]] == [
        (1, fakes.targets["pricing"], True),
        (2, fakes.dead, False),
    ]
    assert "1 of 2 replicas" in nodes["pricing"]["detail"]
    edges = {edge["to"]: edge for edge in overview["edges"]}
    assert {name: edge["kind"] for name, edge in edges.items()} == {
        "cart": "hard",
        "pricing": "soft",
        "email": "soft",
        "redis": "soft",
    }
    assert edges["email"]["guard"] == "checkout.fallbacks"
    assert "queued" in edges["email"]["fallback"]


def test_a_dependency_failing_checkouts_shows_degraded_though_its_health_check_passes(
    client: FlaskClient, fakes: Fakes, user_id: str
) -> None:
    fakes.email.faults.fail("SendOrderConfirmation")
    assert checkout(client, user_id)["email"] == "queued"
    email = next(node for node in admin_get(client, "/overview")["nodes"] if node["name"] == "email")
    assert email["status"] == "degraded"
    assert "failed 1 of 1 checkouts" in email["detail"]


def test_checkouts_lists_a_degraded_checkout_with_its_fallback(client: FlaskClient, fakes: Fakes, user_id: str) -> None:
    fakes.email.faults.fail("SendOrderConfirmation")
    placed = checkout(client, user_id)
    latest = admin_get(client, "/checkouts")["checkouts"][0]
    assert latest["order_id"] == placed["order_id"]
    assert (latest["user_id"], latest["status"], latest["outcome"]) == (user_id, 201, "placed")
    assert latest["email"] == "queued"
    assert latest["degraded"] == [{"dependency": "email", "fallback": "queued", "error": "UNAVAILABLE"}]
    assert latest["flags"]["checkout.fallbacks"] is True


def test_a_failed_checkout_is_listed_with_the_dependency_that_failed_it(
    client: FlaskClient, fakes: Fakes, user_id: str
) -> None:
    client.post("/api/v1/cart/items", json={"sku": "MUG-001", "quantity": 1}, headers={"X-User-Id": user_id})
    fakes.cart.faults.fail("GetCart")
    reply = client.post("/api/v1/checkout", headers={"X-User-Id": user_id, "Idempotency-Key": "k"})
    assert reply.status_code == 503
    latest = admin_get(client, "/checkouts")["checkouts"][0]
    assert (latest["outcome"], latest["status"], latest["error"]["dependency"]) == ("failed", 503, "cart")


def test_stats_count_requests_failures_fallbacks_and_the_funnel(
    client: FlaskClient, fakes: Fakes, user_id: str
) -> None:
    checkout(client, f"{user_id}-a")
    fakes.email.faults.fail("SendOrderConfirmation")
    checkout(client, f"{user_id}-b")
    series = admin_get(client, "/stats")["series"]
    totals = {name: sum(value or 0 for value in values) for name, values in series.items()}
    assert totals["checkout:requests"] == 2
    assert totals["gateway:requests"] == 4  # two items added, two checkouts
    assert (totals["dep:email:checkouts"], totals["dep:email:failed"], totals["fallback:email"]) == (2, 1, 1)
    assert (totals["flag:checkout.fallbacks:eligible"], totals["flag:checkout.fallbacks:on:succeeded"]) == (2, 2)


def test_stats_note_each_flag_ramp_and_carry_it_forward(client: FlaskClient) -> None:
    reply = client.put("/api/v1/admin/flags/pricing.loyalty_discount/ramp", json={"percent": 30}, headers=AUTH)
    assert reply.status_code == 200
    stats = admin_get(client, "/stats?window=20")
    assert len(stats["series"]["ramp:pricing.loyalty_discount"]) == 20
    assert stats["series"]["ramp:pricing.loyalty_discount"][-1] == 30
    assert {"key": "pricing.loyalty_discount", "percent": 30} in [
        {"key": flag["key"], "percent": flag["percent"]} for flag in stats["flags"]
    ]


def test_stats_refuse_a_window_out_of_range(client: FlaskClient) -> None:
    reply = client.get("/api/v1/admin/stats?window=100000", headers=AUTH)
    assert reply.status_code == 400
    assert "from 10 to 900" in reply.get_json()["error"]["message"]


def test_outbox_lists_the_newest_emails(client: FlaskClient, user_id: str) -> None:
    placed = checkout(client, user_id)
    emails = admin_get(client, "/outbox")["emails"]
    assert emails[0]["order_id"] == placed["order_id"]
    assert emails[0]["kind"] in {"order_confirmation", "discount"}
    assert "body" not in emails[0]


def test_outbox_says_when_email_cannot_be_asked(client: FlaskClient, fakes: Fakes) -> None:
    fakes.email.faults.fail("ListOutbox", grpc.StatusCode.UNAVAILABLE)
    reply = client.get("/api/v1/admin/outbox", headers=AUTH)
    assert reply.status_code == 503
    error = reply.get_json()["error"]
    assert (error["dependency"], error["queued"]) == ("email", 0)
    assert "cannot list its outbox (UNAVAILABLE)" in error["message"]


def test_the_console_page_is_served_locked_down(client: FlaskClient) -> None:
    with client.get("/console") as page:
        assert page.status_code == 200
        assert b"Admin token" in page.data
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        assert page.headers["Cache-Control"] == "no-store"
    with client.get("/console/static/console.js") as script:
        assert script.status_code == 200
        assert "javascript" in script.mimetype


def test_the_console_has_an_icon_where_the_page_and_browsers_look_for_it(client: FlaskClient) -> None:
    with client.get("/console") as page:
        assert b'rel="icon" type="image/svg+xml" href="/console/static/favicon.svg"' in page.data
    for path in ("/console/static/favicon.svg", "/favicon.ico"):
        with client.get(path) as icon:
            assert (icon.status_code, icon.mimetype) == (200, "image/svg+xml")
            assert icon.data.startswith(b"<svg")


def test_an_open_circuit_breaker_in_any_worker_shows_on_its_node(
    client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    breaker = CircuitBreaker("email", failure_threshold=1)
    breaker.record_failure()
    # This worker's live breaker for email, and a cart breaker state published as a worker does after a checkout.
    monkeypatch.setattr(app.extensions[EXTENSION].downstreams.email, "breaker", breaker, raising=False)
    ops_log.OpsLog(app.extensions[ops_log.EXTENSION].client).record_checkout({}, {}, {"cart": "closed"})
    nodes = {node["name"]: node for node in admin_get(client, "/overview")["nodes"]}
    assert (nodes["email"]["status"], nodes["email"]["breaker"]) == ("breaker_open", "open")
    # The settings run two workers; the other one reported nothing, so its breaker is still closed.
    assert (
        f"open in 1 of {app.extensions[EXTENSION].settings.gateway_workers} gateway workers" in nodes["email"]["detail"]
    )
    assert (nodes["cart"]["status"], nodes["cart"]["breaker"]) == ("up", "closed")


def test_with_redis_down_checkouts_still_succeed_and_the_console_says_why_it_is_blind(
    fakes: Fakes, control_dir: Path, user_id: str
) -> None:
    fakes.recover()
    settings = Settings.from_env(
        {
            "PURCHASE_CART_TARGET": fakes.targets["cart"],
            "PURCHASE_PRICING_TARGET": fakes.targets["pricing"],
            "PURCHASE_EMAIL_TARGET": fakes.targets["email"],
            "PURCHASE_REDIS_URL": f"redis://{fakes.dead}/0",
            "PURCHASE_ADMIN_TOKEN": TOKEN,
        }
    )
    flags = FeatureFlags.start(control_dir / "flags.json")
    app = create_app(settings, fallbacks=lambda _user: True, flags=flags, fault_rules=StaticRules())
    try:
        client = app.test_client()
        assert checkout(client, user_id)["http_status"] == 201
        redis_node = next(node for node in admin_get(client, "/overview")["nodes"] if node["name"] == "redis")
        assert redis_node["status"] == "down"
        reply = client.get("/api/v1/admin/checkouts", headers=AUTH)
        assert reply.status_code == 503
        assert "history is in Redis" in reply.get_json()["error"]["message"]
    finally:
        app.extensions[EXTENSION].close()
        flags.stop()
