"""Rules that pick one occurrence of a method within a gateway request, on the client and the server side."""

from __future__ import annotations

import random
from collections.abc import Iterator

import grpc
import pytest

from purchase_lab.faults import FaultClientInterceptor, StaticRules
from purchase_lab.faults.occurrence import begin_request, end_request, next_occurrence
from purchase_lab.faults.rules import RuleError, new_rule
from tests.faults.test_interceptors import REQUEST, Pricing, rule, start_pricing

pytestmark = pytest.mark.integration


@pytest.fixture
def served() -> Iterator[Pricing]:
    running = start_pricing(StaticRules(), replica=1)
    yield running
    for channel in running.channels:
        channel.close()
    running.server.stop(None)


@pytest.fixture
def in_request() -> Iterator[None]:
    begin_request()
    yield
    end_request()


def outcomes(call, times: int) -> list[str]:
    found = []
    for _ in range(times):
        try:
            call(REQUEST, timeout=5)
            found.append("OK")
        except grpc.RpcError as error:
            found.append(error.code().name)
    return found


@pytest.mark.unit
def test_calls_are_numbered_per_method_within_a_request_and_not_outside_one() -> None:
    assert next_occurrence("email", "SendOrderConfirmation") is None
    begin_request()
    assert [next_occurrence("email", "SendDiscountEmail") for _ in range(2)] == [1, 2]
    assert next_occurrence("email", "SendOrderConfirmation") == 1
    begin_request()
    assert next_occurrence("email", "SendDiscountEmail") == 1
    end_request()
    assert next_occurrence("email", "SendDiscountEmail") is None


@pytest.mark.unit
def test_occurrence_is_checked_like_every_field() -> None:
    assert new_rule({"service": "email", "error": "INTERNAL", "occurrence": "2"}).occurrence == 2
    with pytest.raises(RuleError, match="occurrence=0 is out of range"):
        new_rule({"service": "email", "error": "INTERNAL", "occurrence": 0})
    with pytest.raises(RuleError, match="occurrence numbers the gateway's calls"):
        new_rule({"service": "gateway", "error": 503, "occurrence": 1})


def test_a_client_rule_fails_only_the_second_call_of_a_request(served: Pricing, in_request: None) -> None:
    interceptor = FaultClientInterceptor("pricing", StaticRules([rule(error="INTERNAL", occurrence=2, side="client")]))
    assert outcomes(served.stub(interceptor).GetAdjustment, 3) == ["OK", "INTERNAL", "OK"]


def test_a_server_rule_reads_the_occurrence_the_gateway_stamps(served: Pricing, in_request: None) -> None:
    rules = StaticRules([rule(error="UNAVAILABLE", occurrence=2, method="GetAdjustment")])
    served.rules.set(*rules.rules)
    # The gateway's interceptor numbers the calls; with no client rule of its own it only stamps them.
    client = FaultClientInterceptor("pricing", rules, rng=random.Random(1))
    assert outcomes(served.stub(client).GetAdjustment, 3) == ["OK", "UNAVAILABLE", "OK"]


def test_calls_outside_a_request_are_never_hit_by_an_occurrence_rule(served: Pricing) -> None:
    served.rules.set(rule(error="INTERNAL", occurrence=1))
    client = FaultClientInterceptor("pricing", StaticRules([rule(error="INTERNAL", occurrence=1, side="client")]))
    assert outcomes(served.stub(client).GetAdjustment, 2) == ["OK", "OK"]
