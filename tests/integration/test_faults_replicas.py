"""Three pricing replicas behind the gateway's round robin: a bad deployment on one, a failed node among three."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from purchase_lab.health import wait_until
from tests.conftest import Lab
from tests.integration.faults_lab import add, clear, failure_share, get, returning_shopper, settle, start_lab, store

pytestmark = pytest.mark.integration

PRODUCTS = "/api/v1/products"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The whole system with pricing as three processes, pricing-1 to pricing-3."""
    yield from start_lab(tmp_path_factory.mktemp("replicas"), pricing=3)


@pytest.fixture(autouse=True)
def no_faults_after(lab: Lab) -> Iterator[None]:
    """Every test starts and ends without faults, with every replica running."""
    yield
    clear(lab)
    lab.start("pricing")


def test_each_replica_knows_its_number(lab: Lab) -> None:
    for replica in (1, 2, 3):
        assert f"pricing replica {replica} listening on" in lab.logs(f"pricing-{replica}")


def test_a_fault_on_one_replica_of_three_fails_a_third_of_the_calls(lab: Lab) -> None:
    add(lab, service="pricing", replica=2, error="INTERNAL")

    share = failure_share(lab, PRODUCTS, 300)

    assert 0.25 <= share <= 0.42
    assert "fired" in lab.logs("pricing-2")
    assert "fired" not in lab.logs("pricing-1") + lab.logs("pricing-3")


def test_bad_deploy_degrades_a_third_of_the_checkouts_of_returning_users(lab: Lab) -> None:
    shoppers = [returning_shopper(lab) for _ in range(24)]
    store(lab).apply_scenario("bad-deploy")
    settle(lab)

    replies = [shopper.checkout("bad-deploy") for shopper in shoppers]

    assert [reply.status for reply in replies] == [201] * len(shoppers)
    degraded = [reply.body["degraded"] for reply in replies if reply.body["degraded"]]
    assert 4 <= len(degraded) <= 12  # about one checkout in three reaches replica 1
    assert all(
        found == [{"dependency": "pricing", "fallback": "no_adjustment", "error": "INTERNAL"}] for found in degraded
    )
    assert 0.25 <= failure_share(lab, PRODUCTS, 150) <= 0.42


def test_a_killed_replica_is_routed_around_and_used_again_when_it_is_back(lab: Lab) -> None:
    lab.processes["pricing-3"].kill()

    assert failure_share(lab, PRODUCTS, 60) == 0  # its share of calls is retried on the live replicas

    lab.start("pricing-3")
    add(lab, service="pricing", replica=3, error="INTERNAL")
    wait_until(lambda: get(lab, PRODUCTS).status == 503, "the gateway to send calls to pricing-3 again", timeout=3)
