"""The `purchase.*` metrics move as a student expects: RED per RPC and per route, dependency outcomes,
flag evaluations, the funnel, checkouts, faults, and each flag's ramp.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from purchase.pricing.v1 import pricing_pb2

from purchase_lab.faults.rules import new_rule
from purchase_lab.flags import LOYALTY_DISCOUNT, FeatureFlags, UserContext, kill, ramp, seed_live_file
from purchase_lab.telemetry.hooks import flag_hooks, rollout_reader
from purchase_lab.telemetry.instrument import grpc_server_interceptors
from purchase_lab.telemetry.metrics import (
    CALLERS,
    CHECKOUT_RESULTS,
    DEPENDENCY_OUTCOMES,
    FALLBACK_CAUSES,
    FUNNEL_STAGES,
    RELAY,
    SERVER_FAILURES,
    calls_by,
)
from tests.telemetry.conftest import Recorded
from tests.telemetry.shop import PRICING_SERVICE, Pricing, start_pricing

RPC = "purchase.rpc.server.duration"
CALLS = "purchase.dependency.calls"
FALLBACKS = "purchase.dependency.fallbacks"


class FakeRedis:
    """Stands in for Redis where a test is about metrics, not about Redis."""

    def get(self, key: str) -> bytes | None:
        return b"loyal customer" if key == "discount:ada" else None


@pytest.fixture
def pricing(recorded: Recorded) -> Iterator[Pricing]:
    running = start_pricing(recorded.telemetry, FakeRedis())
    yield running
    running.stop()


@pytest.mark.integration
def test_each_rpc_is_counted_by_method_and_status_code_and_timed(recorded: Recorded, pricing: Pricing) -> None:
    pricing.stub.GetAdjustment(pricing_pb2.GetAdjustmentRequest(user_id="ada"), timeout=2)
    with pytest.raises(grpc.RpcError):
        pricing.stub.GetAdjustment(pricing_pb2.GetAdjustmentRequest(user_id="bob"), timeout=2)

    ok = dict(recorded.points(RPC)[0][0])
    assert ok == {
        "rpc.system": "grpc",
        "rpc.service": PRICING_SERVICE,
        "rpc.method": "GetAdjustment",
        "rpc.response.status_code": "OK",
        "release": "1.0",
    }
    assert recorded.count(RPC, **{"rpc.response.status_code": "OK"}) == 1
    assert recorded.count(RPC, **{"rpc.response.status_code": "NOT_FOUND"}) == 1
    assert recorded.points(RPC)[0][1].sum > 0


@pytest.mark.unit
def test_a_served_services_call_counters_start_at_zero_for_ok_and_every_server_failure(recorded: Recorded) -> None:
    grpc_server_interceptors(recorded.telemetry, [PRICING_SERVICE, "grpc.health.v1.Health"])

    series = {
        (labels["rpc.service"], labels["rpc.method"], labels["rpc.response.status_code"])
        for labels, point in recorded.points("purchase.rpc.server.calls")
        if point.value == 0
    }
    methods = pricing_pb2.DESCRIPTOR.services_by_name["PricingService"].methods_by_name
    assert series == {(PRICING_SERVICE, method, status) for method in methods for status in ("OK", *SERVER_FAILURES)}


@pytest.mark.integration
def test_health_checks_are_neither_counted_nor_traced(recorded: Recorded, pricing: Pricing) -> None:
    health_pb2_grpc.HealthStub(pricing.channel).Check(health_pb2.HealthCheckRequest(), timeout=2)

    assert recorded.points(RPC) == []
    assert recorded.spans() == []


@pytest.mark.integration
def test_a_fault_is_counted_where_it_fired(recorded: Recorded, pricing: Pricing) -> None:
    pricing.rules.set(new_rule({"service": "pricing", "method": "GetAdjustment", "error": "UNAVAILABLE"}))

    with pytest.raises(grpc.RpcError):
        pricing.stub.GetAdjustment(pricing_pb2.GetAdjustmentRequest(user_id="ada"), timeout=2)

    assert (
        recorded.count(
            "purchase.faults.injected", service="pricing", side="server", method="GetAdjustment", error="UNAVAILABLE"
        )
        == 1
    )
    assert recorded.count(RPC, **{"rpc.response.status_code": "UNAVAILABLE"}) == 1


@pytest.mark.unit
def test_dependency_calls_are_counted_once_by_their_final_outcome(recorded: Recorded) -> None:
    metrics = recorded.telemetry.metrics
    with metrics.dependency_call("pricing", "GetAdjustment"):
        pass
    with pytest.raises(TimeoutError), metrics.dependency_call("cart", "GetCart"):
        raise TimeoutError("cart is slow")
    # The checkout wraps the client's own context and falls back: one failed call, one fallback.
    with metrics.dependency_call("pricing", "GetAdjustment") as outer:
        try:
            with metrics.dependency_call("pricing", "GetAdjustment"):
                raise ConnectionError("pricing is down")
        except ConnectionError:
            outer.fallback()
    with metrics.dependency_call("email", "SendOrderConfirmation") as call:
        call.short_circuited()
    # NOT_FOUND for an unknown SKU is pricing answering, even though the caller raises.
    with contextlib.suppress(LookupError), metrics.dependency_call("pricing", "GetProduct") as call:
        call.answered()
        raise LookupError("unknown SKU")

    assert recorded.count(CALLS, dependency="pricing", method="GetAdjustment", outcome="ok") == 1
    assert recorded.count(CALLS, dependency="pricing", method="GetAdjustment", outcome="error") == 1
    assert recorded.count(CALLS, dependency="pricing", method="GetProduct", outcome="ok") == 1
    assert recorded.count(CALLS, dependency="cart", outcome="error") == 1
    assert recorded.count(CALLS, dependency="email", outcome="short_circuited") == 1
    assert recorded.count(CALLS, caller="request") == recorded.count(CALLS) == 5
    assert recorded.count(FALLBACKS) == recorded.count(FALLBACKS, dependency="pricing", cause="error") == 1
    # A short-circuited call took no time at a dependency: it has no duration.
    assert recorded.count("purchase.dependency.duration") == 4


@pytest.mark.unit
def test_a_fallback_counts_whether_the_call_failed_or_the_breaker_refused_it(recorded: Recorded) -> None:
    metrics = recorded.telemetry.metrics
    email = {"dependency": "email", "method": "SendOrderConfirmation"}
    with metrics.dependency_call(**email) as refused:
        refused.short_circuited()
        refused.fallback()
    # The time budget ran out before the call could start: a failure, and the fallback ran.
    with metrics.dependency_call(**email) as never_made:
        never_made.fallback()

    assert recorded.count(FALLBACKS, **email, cause="short_circuited") == 1
    assert recorded.count(FALLBACKS, **email, cause="error") == 1
    assert recorded.count(CALLS, **email, outcome="short_circuited") == 1
    assert recorded.count(CALLS, **email, outcome="error") == 1
    with pytest.raises(ValueError, match="fallback cause 'breaker' is unknown; use one of error, short_circuited"):
        metrics.record_fallback("email", "SendOrderConfirmation", "breaker")


@pytest.mark.unit
def test_calls_made_by_the_email_relay_are_labelled_apart(recorded: Recorded) -> None:
    metrics = recorded.telemetry.metrics
    with metrics.dependency_call("email", "SendOrderConfirmation"):
        pass
    with calls_by(RELAY), pytest.raises(ConnectionError), metrics.dependency_call("email", "SendOrderConfirmation"):
        raise ConnectionError("email is down")

    assert recorded.count(CALLS, caller="request", outcome="ok") == 1
    assert recorded.count(CALLS, caller="relay", outcome="error") == 1
    assert recorded.count(CALLS, caller="relay", outcome="ok") == 0
    with pytest.raises(ValueError, match="caller 'cron' is unknown; use one of request, relay"), calls_by("cron"):
        pass


@pytest.mark.unit
def test_declared_series_exist_at_zero_before_any_event(recorded: Recorded) -> None:
    metrics = recorded.telemetry.metrics
    metrics.declare_checkouts()
    metrics.declare_funnel(LOYALTY_DISCOUNT)
    metrics.declare_dependency(
        "email",
        ["SendOrderConfirmation", "ListOutbox"],
        breaker_methods=["SendOrderConfirmation"],
        soft_methods=["SendOrderConfirmation"],
        relay_methods=["SendOrderConfirmation"],
    )

    def series(metric: str, *keys: str) -> set[tuple[str, ...]]:
        return {tuple(labels[key] for key in keys) for labels, point in recorded.points(metric) if point.value == 0}

    assert series("purchase.checkouts", "result", "fallbacks") == {
        (result, variant) for result in CHECKOUT_RESULTS for variant in ("on", "off")
    }
    assert series("purchase.feature.funnel", "variant", "stage") == {
        (variant, stage) for variant in ("on", "off") for stage in FUNNEL_STAGES
    }
    assert series(CALLS, "method", "caller", "outcome") == {
        *(("SendOrderConfirmation", caller, outcome) for caller in CALLERS for outcome in DEPENDENCY_OUTCOMES),
        ("ListOutbox", "request", "ok"),
        ("ListOutbox", "request", "error"),
    }
    assert series(FALLBACKS, "method", "cause") == {("SendOrderConfirmation", cause) for cause in FALLBACK_CAUSES}


@pytest.mark.unit
def test_funnel_and_checkouts_are_counted_by_variant_and_unknown_values_are_refused(recorded: Recorded) -> None:
    metrics = recorded.telemetry.metrics
    for stage in ("eligible", "exposed", "succeeded"):
        metrics.record_funnel(LOYALTY_DISCOUNT, "on", stage)
    metrics.record_funnel(LOYALTY_DISCOUNT, "off", "eligible")
    metrics.record_checkout("degraded", fallbacks="on")

    assert recorded.count("purchase.feature.funnel", variant="on", stage="exposed") == 1
    assert recorded.count("purchase.feature.funnel", stage="eligible") == 2
    assert recorded.count("purchase.checkouts", result="degraded", fallbacks="on") == 1
    with pytest.raises(ValueError, match="funnel stage 'seen' is unknown; use one of eligible, exposed"):
        metrics.record_funnel(LOYALTY_DISCOUNT, "on", "seen")
    with pytest.raises(ValueError, match="checkout result 'ok' is unknown"):
        metrics.record_checkout("ok", fallbacks="on")


@pytest.mark.integration
def test_flag_evaluations_are_counted_by_variant(recorded: Recorded, tmp_path: Path) -> None:
    path = tmp_path / "flags.json"
    seed_live_file(path)
    flags = FeatureFlags.start(path)
    try:
        flags.client.add_hooks(flag_hooks(recorded.telemetry.metrics))
        flags.is_enabled(LOYALTY_DISCOUNT, UserContext("ada"))
        flags.is_enabled(LOYALTY_DISCOUNT, UserContext("lin", email="lin@purchase.example"))
    finally:
        flags.stop()

    assert recorded.count("purchase.flag.evaluations", flag=LOYALTY_DISCOUNT, variant="off") == 2


@pytest.mark.unit
def test_the_rollout_gauge_follows_the_ramp_and_the_kill_switch(recorded: Recorded, tmp_path: Path) -> None:
    path = tmp_path / "flags.json"
    recorded.telemetry.metrics.observe_rollouts(rollout_reader(path))

    ramp(LOYALTY_DISCOUNT, 25, path)
    ramped = recorded.points("purchase.flag.rollout")
    kill(LOYALTY_DISCOUNT, path)
    killed = recorded.points("purchase.flag.rollout")

    assert ({"flag": LOYALTY_DISCOUNT}, 25) in [(labels, point.value) for labels, point in ramped]
    assert ({"flag": LOYALTY_DISCOUNT}, 0) in [(labels, point.value) for labels, point in killed]
