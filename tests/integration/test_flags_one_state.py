"""One flag state per lab: a process restarted on a broken live file serves what the others serve, or says it cannot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from purchase.pricing.v1 import pricing_pb2_grpc

from purchase_lab import acks
from purchase_lab.confirm import wait_for_flags
from purchase_lab.flags import LOYALTY_DISCOUNT, UserContext, add_user
from purchase_lab.flags.last_good import last_good_path
from purchase_lab.health import wait_until
from purchase_lab.lab_reset import reset_lab
from tests.conftest import Lab
from tests.integration.conftest import restore
from tests.integration.test_flags import client_features, pricing_loyalty
from tests.integration.test_shop import call

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The whole system, its gateway on two workers that must agree too."""
    env = {"PURCHASE_GATEWAY_WORKERS": "2", "PURCHASE_PRICING_DEADLINE_MS": "3000"}
    system = Lab(tmp_path_factory.mktemp("one-flag-state"), env=env)
    try:
        yield system.start()
    finally:
        system.stop()


@pytest.fixture(autouse=True)
def restored(lab: Lab) -> Iterator[None]:
    """Every test leaves the lab as committed, every process running."""
    yield
    restore(lab)


@pytest.fixture(scope="module")
def pricing(lab: Lab) -> Iterator[pricing_pb2_grpc.PricingServiceStub]:
    """A stub of the pricing process (a fresh connection follows it across restarts)."""
    with grpc.insecure_channel(lab.target("pricing")) as channel:
        yield pricing_pb2_grpc.PricingServiceStub(channel)


def pricing_health(lab: Lab) -> int:
    """What pricing's standard health service says now (UNKNOWN while it does not answer)."""
    with grpc.insecure_channel(lab.target("pricing")) as channel:
        try:
            return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1).status
        except grpc.RpcError:
            return health_pb2.HealthCheckResponse.UNKNOWN


def truncate(path: Path) -> None:
    """A bad hand edit: the live file cut in the middle of its JSON."""
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")


def test_pricing_restarted_on_a_truncated_file_serves_the_flags_the_gateway_announces(
    lab: Lab, flags_path: Path, pricing: pricing_pb2_grpc.PricingServiceStub, user_id: str
) -> None:
    user = UserContext(user_id)
    add_user(LOYALTY_DISCOUNT, user_id, flags_path)
    assert wait_for_flags(flags_path).complete
    truncate(flags_path)

    lab.processes["pricing"].stop()
    lab.start("pricing")

    # The gateway announces the discount to the user, and pricing gives it: the same answer everywhere.
    assert client_features(lab, user)[LOYALTY_DISCOUNT] is True
    assert pricing_loyalty(pricing, user) is True
    agreement = acks.flag_agreement(acks.running(flags_path.parent))
    assert agreement.agree, agreement.summary()
    assert "serving the last good flags from" in lab.logs("pricing")
    health = call(lab, "GET", "/healthz")
    assert (health.status, health.body["status"], health.body["flags"]["lab"]["agree"]) == (200, "ok", True)


def test_pricing_with_no_valid_flags_at_all_is_not_serving_and_the_lab_says_it_disagrees(
    lab: Lab, flags_path: Path, pricing: pricing_pb2_grpc.PricingServiceStub
) -> None:
    assert wait_for_flags(flags_path).complete  # every process has kept its copy of the flags
    truncate(flags_path)
    last_good_path(flags_path).unlink()
    lab.processes["pricing"].stop()

    lab.processes["pricing"].start()  # not lab.start: it waits for SERVING, which pricing must not claim

    wait_until(lambda: pricing_health(lab) == health_pb2.HealthCheckResponse.NOT_SERVING, "NOT_SERVING", 20)
    health = call(lab, "GET", "/healthz")
    assert (health.status, health.body["status"], health.body["flags"]["lab"]["agree"]) == (200, "degraded", False)
    (problem,) = health.body["problems"]
    assert "the lab's processes disagree on the flags" in problem
    assert "pricing-1" in problem
    assert "no valid flags to serve" in problem
    assert "meanwhile serving the last good flags" not in lab.logs("pricing").split("pricing stopped")[-1]

    reset_lab(flags_path.parent)

    wait_until(lambda: pricing_health(lab) == health_pb2.HealthCheckResponse.SERVING, "SERVING after a reset", 5)
    assert call(lab, "GET", "/healthz").body["flags"]["lab"]["agree"] is True
