"""Each fault kind, injected by the interceptors into calls to a real gRPC server, as a caller sees it."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from purchase.pricing.v1 import pricing_pb2, pricing_pb2_grpc

from purchase_lab.faults import FaultClientInterceptor, FaultServerInterceptor, StaticRules
from purchase_lab.faults.extract import USER_METADATA_KEY
from purchase_lab.faults.rules import Rule, new_rule
from purchase_lab.grpc_server import create_server
from purchase_lab.ports import free_port

pytestmark = pytest.mark.integration

SERVICE_NAME = pricing_pb2.DESCRIPTOR.services_by_name["PricingService"].full_name
REQUEST = pricing_pb2.GetAdjustmentRequest(user_id="alice", promo_code="", items=[pricing_pb2.LineItem(sku="COF-1")])


class FakePricing(pricing_pb2_grpc.PricingServiceServicer):
    """Answers at once and remembers each call and how much of its deadline was left."""

    def __init__(self) -> None:
        self.time_left: list[float] = []

    def GetAdjustment(self, request: pricing_pb2.GetAdjustmentRequest, context: grpc.ServicerContext):
        self.time_left.append(context.time_remaining())
        return pricing_pb2.GetAdjustmentResponse(reason="the real answer")

    def ListProducts(self, request: pricing_pb2.ListProductsRequest, context: grpc.ServicerContext):
        return pricing_pb2.ListProductsResponse()


@dataclass
class Pricing:
    """A real pricing server in this process, with the fault interceptor of one replica."""

    rules: StaticRules
    servicer: FakePricing
    target: str
    server: grpc.Server
    channels: list[grpc.Channel] = field(default_factory=list)

    def stub(self, *interceptors: grpc.UnaryUnaryClientInterceptor) -> pricing_pb2_grpc.PricingServiceStub:
        channel = grpc.insecure_channel(self.target)
        self.channels.append(channel)
        return pricing_pb2_grpc.PricingServiceStub(grpc.intercept_channel(channel, *interceptors))


def start_pricing(rules: StaticRules, replica: int, max_workers: int = 4) -> Pricing:
    servicer = FakePricing()
    interceptor = FaultServerInterceptor("pricing", rules, replica=replica, rng=random.Random(3))
    server, port, _health = create_server(
        f"127.0.0.1:{free_port()}",
        lambda server: pricing_pb2_grpc.add_PricingServiceServicer_to_server(servicer, server),
        [SERVICE_NAME],
        interceptors=[interceptor],
        max_workers=max_workers,
    )
    server.start()
    return Pricing(rules, servicer, f"127.0.0.1:{port}", server)


@pytest.fixture
def pricing() -> Iterator[Pricing]:
    running = start_pricing(StaticRules(), replica=1, max_workers=1)
    yield running
    for channel in running.channels:
        channel.close()
    running.server.stop(None)


def rule(**fields: object) -> Rule:
    return new_rule({"service": "pricing", **fields})


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds the call took, and its answer or the RpcError it raised."""
    start = time.monotonic()
    try:
        result = call()
    except grpc.RpcError as error:
        result = error
    return time.monotonic() - start, result


# --- server side: the receiving service injects the fault ---


def test_with_no_rules_calls_go_through(pricing: Pricing) -> None:
    assert pricing.stub().GetAdjustment(REQUEST, timeout=2).reason == "the real answer"


def test_a_server_error_rule_fails_the_call_with_its_code_and_id(pricing: Pricing) -> None:
    bad = rule(error="RESOURCE_EXHAUSTED", description="pricing is overloaded")
    pricing.rules.set(bad)
    with pytest.raises(grpc.RpcError) as raised:
        pricing.stub().GetAdjustment(REQUEST, timeout=2)
    assert raised.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert raised.value.details() == f"injected fault {bad.id}: pricing is overloaded"
    assert pricing.servicer.time_left == []


def test_server_latency_delays_the_answer(pricing: Pricing) -> None:
    pricing.rules.set(rule(latency_ms=200))
    elapsed, answer = timed(lambda: pricing.stub().GetAdjustment(REQUEST, timeout=2))
    assert answer.reason == "the real answer"
    assert elapsed >= 0.2


def test_server_latency_past_the_deadline_frees_the_worker_at_the_deadline(pricing: Pricing) -> None:
    pricing.rules.set(rule(latency_ms=3000))
    elapsed, error = timed(lambda: pricing.stub().GetAdjustment(REQUEST, timeout=0.3))
    assert error.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert elapsed < 1.0
    pricing.rules.set()
    # One worker only: this call is answered when the injected sleep ends at the deadline, not after 3 s.
    _elapsed, answer = timed(lambda: pricing.stub().GetAdjustment(REQUEST, timeout=2))
    assert answer.reason == "the real answer"


def test_a_method_rule_leaves_other_methods_alone(pricing: Pricing) -> None:
    pricing.rules.set(rule(error="INTERNAL", method="GetAdjustment"))
    stub = pricing.stub()
    assert stub.ListProducts(pricing_pb2.ListProductsRequest(), timeout=2) == pricing_pb2.ListProductsResponse()
    with pytest.raises(grpc.RpcError, match="INTERNAL"):
        stub.GetAdjustment(REQUEST, timeout=2)


def test_an_argument_rule_fails_only_matching_requests(pricing: Pricing) -> None:
    pricing.rules.set(rule(error="INTERNAL", promo="SPRING15"), rule(error="UNAVAILABLE", user="bob"))
    stub = pricing.stub()
    assert stub.GetAdjustment(REQUEST, timeout=2).reason == "the real answer"
    with pytest.raises(grpc.RpcError) as promo:
        stub.GetAdjustment(pricing_pb2.GetAdjustmentRequest(promo_code="spring15"), timeout=2)
    assert promo.value.code() is grpc.StatusCode.INTERNAL
    with pytest.raises(grpc.RpcError) as user:
        stub.GetAdjustment(REQUEST, timeout=2, metadata=[(USER_METADATA_KEY, "bob")])
    assert user.value.code() is grpc.StatusCode.UNAVAILABLE


def test_a_replica_rule_fails_only_that_replica() -> None:
    rules = StaticRules([rule(error="INTERNAL", replica=2)])
    replicas = [start_pricing(rules, replica=number) for number in (1, 2, 3)]
    try:
        codes = [timed(lambda r=r: r.stub().GetAdjustment(REQUEST, timeout=2))[1] for r in replicas]
        assert [getattr(answer, "reason", None) for answer in codes] == ["the real answer", None, "the real answer"]
        assert codes[1].code() is grpc.StatusCode.INTERNAL
    finally:
        for replica in replicas:
            replica.server.stop(None)


def test_health_checks_are_never_faulted(pricing: Pricing) -> None:
    pricing.rules.set(rule(error="UNAVAILABLE"))
    channel = grpc.insecure_channel(pricing.target)
    pricing.channels.append(channel)
    answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=2)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


# --- client side: the gateway's channel fails the call before it leaves ---


def client_interceptor(*rules: Rule) -> FaultClientInterceptor:
    return FaultClientInterceptor("pricing", StaticRules(rules), rng=random.Random(5))


def test_a_client_error_rule_fails_the_call_without_reaching_the_server(pricing: Pricing) -> None:
    bad = rule(side="client", method="GetAdjustment", error="INTERNAL")
    stub = pricing.stub(client_interceptor(bad))
    with pytest.raises(grpc.RpcError) as raised:
        stub.GetAdjustment(REQUEST, timeout=2)
    assert (raised.value.code(), raised.value.details()) == (grpc.StatusCode.INTERNAL, bad.details)
    _answer, call = stub.ListProducts.with_call(pricing_pb2.ListProductsRequest(), timeout=2)
    assert call.code() is grpc.StatusCode.OK
    assert pricing.servicer.time_left == []


def test_unreachable_fails_at_once_like_a_refused_connection(pricing: Pricing) -> None:
    stub = pricing.stub(client_interceptor(rule(side="client", error="unreachable")))
    elapsed, error = timed(lambda: stub.GetAdjustment(REQUEST, timeout=2))
    assert error.code() is grpc.StatusCode.UNAVAILABLE
    assert "failed to connect to all addresses" in error.details()
    assert "pricing is unreachable" in error.details()
    assert elapsed < 0.1
    future = stub.GetAdjustment.future(REQUEST, timeout=2)
    assert future.exception().code() is grpc.StatusCode.UNAVAILABLE
    assert pricing.servicer.time_left == []


def test_client_latency_delays_the_call_and_spends_its_deadline(pricing: Pricing) -> None:
    stub = pricing.stub(client_interceptor(rule(side="client", latency_ms=300)))
    elapsed, answer = timed(lambda: stub.GetAdjustment(REQUEST, timeout=1.0))
    assert answer.reason == "the real answer"
    assert elapsed >= 0.3
    assert pricing.servicer.time_left[0] <= 0.7


def test_client_latency_longer_than_the_deadline_ends_at_the_deadline(pricing: Pricing) -> None:
    stub = pricing.stub(client_interceptor(rule(side="client", latency_ms=5000)))
    elapsed, error = timed(lambda: stub.GetAdjustment(REQUEST, timeout=0.25))
    assert error.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert 0.25 <= elapsed < 1.0
    assert pricing.servicer.time_left == []


def test_client_rules_for_another_downstream_do_not_touch_this_one(pricing: Pricing) -> None:
    other = new_rule({"service": "cart", "side": "client", "error": "unreachable"})
    server_side = rule(error="INTERNAL", rate=1)
    interceptor = FaultClientInterceptor("pricing", StaticRules([other]))
    assert pricing.stub(interceptor).GetAdjustment(REQUEST, timeout=2).reason == "the real answer"
    pricing.rules.set(server_side)
    with pytest.raises(grpc.RpcError, match="injected fault"):
        pricing.stub(interceptor).GetAdjustment(REQUEST, timeout=2)
