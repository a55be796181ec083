"""Each kind of fault, injected into the real processes, as a client of the gateway sees it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from purchase_lab.health import wait_until
from tests.conftest import Lab
from tests.integration.faults_lab import (
    add,
    admin,
    clear,
    failure_share,
    get,
    new_shopper,
    settle,
    start_lab,
    store,
    timed,
)

pytestmark = pytest.mark.integration

PRODUCTS = "/api/v1/products"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The whole system, one process per service, pricing deadline 500 ms as configured by default."""
    yield from start_lab(tmp_path_factory.mktemp("faults"))


@pytest.fixture(autouse=True)
def no_faults_after(lab: Lab) -> Iterator[None]:
    """Every test starts and ends without faults."""
    yield
    clear(lab)


@pytest.mark.parametrize("code", ["UNAVAILABLE", "INTERNAL", "RESOURCE_EXHAUSTED"])
def test_a_server_error_in_pricing_is_a_503_naming_pricing(lab: Lab, code: str) -> None:
    add(lab, service="pricing", method="ListProducts", error=code)

    reply = get(lab, PRODUCTS)

    assert reply.status == 503
    assert reply.body["error"]["dependency"] == "pricing"
    assert reply.body["error"]["retryable"] is True
    assert f"({code})" in reply.body["error"]["message"]


def test_a_rule_for_one_method_leaves_the_others_alone(lab: Lab) -> None:
    add(lab, service="cart", method="ListOrders", error="INTERNAL")
    user = new_shopper(lab).user_id

    assert get(lab, "/api/v1/orders", user).status == 503
    assert get(lab, "/api/v1/cart", user).status == 200


def test_server_latency_slows_the_answer_down(lab: Lab) -> None:
    add(lab, service="pricing", method="ListProducts", latency_ms=250)

    elapsed, reply = timed(lambda: get(lab, PRODUCTS))

    assert reply.status == 200
    assert elapsed >= 0.25


def test_latency_past_the_deadline_fails_at_the_deadline_not_after_the_latency(lab: Lab) -> None:
    add(lab, service="pricing", method="ListProducts", latency_ms=3000)

    elapsed, reply = timed(lambda: get(lab, PRODUCTS))

    assert reply.status == 503
    assert "DEADLINE_EXCEEDED" in reply.body["error"]["message"]
    assert 0.45 <= elapsed < 1.5  # the gateway's 500 ms pricing deadline, not the 3 s of latency


def test_client_side_unreachable_fails_at_once_without_reaching_pricing(lab: Lab) -> None:
    add(lab, service="pricing", side="client", error="unreachable")
    pricing_log = len(lab.logs("pricing"))

    elapsed, reply = timed(lambda: get(lab, PRODUCTS))

    assert reply.status == 503
    assert reply.body["error"]["dependency"] == "pricing"
    assert "UNAVAILABLE" in reply.body["error"]["message"]
    assert elapsed < 0.3
    assert "fired" not in lab.logs("pricing")[pricing_log:]


def test_a_gateway_http_fault_answers_its_status_as_json(lab: Lab) -> None:
    rule_id = add(lab, service="gateway", method="/api/v1/products", error=429, description="shed load")

    reply = get(lab, PRODUCTS)

    assert reply.status == 429
    assert reply.body["error"] == {
        "code": "injected_fault",
        "message": f"injected fault {rule_id}: shed load",
        "retryable": True,
    }
    assert get(lab, "/api/v1/cart", new_shopper(lab).user_id).status == 200


def test_health_and_the_admin_api_are_never_faulted(lab: Lab) -> None:
    add(lab, service="gateway", error=503)

    assert get(lab, PRODUCTS).status == 503
    assert get(lab, "/healthz").status == 200
    assert admin(lab, "GET", "/faults").status == 200


def test_a_rate_fails_about_that_fraction_of_calls(lab: Lab) -> None:
    add(lab, service="pricing", method="ListProducts", error="INTERNAL", rate=0.3)

    share = failure_share(lab, PRODUCTS, 600)

    assert 0.23 <= share <= 0.37  # 0.3 +- 3.7 standard deviations of 600 draws


def test_a_user_rule_fails_only_that_users_calls(lab: Lab) -> None:
    victim, bystander = new_shopper(lab), new_shopper(lab)
    add(lab, service="cart", user=victim.user_id, error="INTERNAL")

    assert victim("GET", "/api/v1/cart").status == 503
    assert bystander("GET", "/api/v1/cart").status == 200


def test_a_sku_rule_fails_only_requests_with_that_sku(lab: Lab) -> None:
    shopper = new_shopper(lab)
    assert get(lab, PRODUCTS).status == 200  # the gateway keeps this as its last good catalogue
    add(lab, service="pricing", sku="cof-eth-250", error="INTERNAL")

    # Pricing fails for that SKU only: the cart is filled from the last good catalogue, and says so.
    hit, spared = shopper.add("COF-ETH-250"), shopper.add("TEA-SEN-100")
    assert (hit.status, hit.body["degraded"][0]["error"]) == (200, "INTERNAL")
    assert (spared.status, "stale" in spared.body) == (200, False)


def test_a_promo_rule_fails_only_requests_with_that_code(lab: Lab) -> None:
    with_code, other_code = new_shopper(lab), new_shopper(lab)
    add(lab, service="pricing", promo="SPRING15", error="INTERNAL")

    assert with_code("POST", "/api/v1/cart/promo", {"code": "spring15"}).status == 503
    assert other_code("POST", "/api/v1/cart/promo", {"code": "TAKE5"}).status == 200


def test_a_rule_expires_on_its_own(lab: Lab) -> None:
    added = time.monotonic()
    add(lab, service="pricing", method="ListProducts", error="INTERNAL", ttl_s=1)
    assert get(lab, PRODUCTS).status == 503

    wait_until(lambda: get(lab, PRODUCTS).status == 200, "the rule to expire", timeout=3)

    assert time.monotonic() - added >= 0.9
    assert store(lab).list_rules() == []


def test_a_rule_reaches_every_process_within_a_second(lab: Lab) -> None:
    began = time.monotonic()
    rule = store(lab).add_rule(service="email", error="INTERNAL")

    settle(lab, timeout=1.0)

    assert time.monotonic() - began < 1.0
    assert rule.id in lab.logs("gateway")


def test_a_killed_pricing_fails_its_calls_and_the_gateway_recovers_when_it_is_back(lab: Lab) -> None:
    gateway_pid = lab.processes["gateway"].pid
    lab.processes["pricing"].kill()

    reply = get(lab, PRODUCTS)
    assert (reply.status, reply.body["error"]["dependency"]) == (503, "pricing")

    lab.start("pricing")
    wait_until(lambda: get(lab, PRODUCTS).status == 200, "the gateway to use the new pricing process", timeout=3)
    assert lab.processes["gateway"].pid == gateway_pid
