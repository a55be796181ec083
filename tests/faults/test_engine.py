"""The injector picks which rule fires on a call: by method, replica, arguments, rate and expiry."""

from __future__ import annotations

import random

import pytest

from purchase_lab.faults.engine import FaultInjector, Injection
from purchase_lab.faults.rules import CallFacts, Rule, new_rule
from purchase_lab.faults.watcher import StaticRules

pytestmark = pytest.mark.unit

NOW = 1_000_000.0


def rule(**fields: object) -> Rule:
    return new_rule({"service": "pricing", **fields}, now=NOW)


def injector(*rules: Rule, replica: int | None = 1, seed: int = 7, clock: float = NOW) -> FaultInjector:
    return FaultInjector("pricing", "server", StaticRules(rules), replica, random.Random(seed), clock=lambda: clock)


ANYONE = CallFacts()


def fire(faults: FaultInjector, method: str = "GetAdjustment", facts: CallFacts = ANYONE) -> Injection | None:
    return faults.choose(faults.rules_for(method), method, lambda: facts)


@pytest.mark.parametrize("rate", [0.05, 0.3, 0.5, 0.9])
def test_the_share_of_calls_hit_is_close_to_the_rate(rate: float) -> None:
    faults = injector(rule(error="UNAVAILABLE", rate=rate))
    hits = sum(fire(faults) is not None for _ in range(2000))
    assert abs(hits / 2000 - rate) < 0.035


def test_a_rule_hits_only_its_method_and_replica() -> None:
    faults = injector(rule(error="INTERNAL", method="GetAdjustment", replica=2), replica=2)
    assert fire(faults, "GetAdjustment") is not None
    assert fire(faults, "ListProducts") is None
    assert fire(injector(*faults.source.rules, replica=1)) is None


def test_a_rule_for_certain_arguments_hits_only_matching_calls() -> None:
    faults = injector(rule(error="INTERNAL", promo="SPRING15", user="alice"))
    assert fire(faults, facts=CallFacts(user="alice", promos=frozenset({"SPRING15"}))) is not None
    assert fire(faults, facts=CallFacts(user="alice")) is None
    assert fire(faults, facts=CallFacts(user="bob", promos=frozenset({"SPRING15"}))) is None


def test_the_request_is_not_inspected_when_no_rule_needs_it() -> None:
    faults = injector(rule(error="INTERNAL"))

    def facts() -> CallFacts:
        raise AssertionError("facts were read")

    assert faults.choose(faults.rules_for("GetAdjustment"), "GetAdjustment", facts) is not None


def test_an_expired_rule_never_fires() -> None:
    expiring = rule(error="INTERNAL", ttl_s=60)
    assert fire(injector(expiring, clock=NOW + 59)) is not None
    assert fire(injector(expiring, clock=NOW + 60)) is None


def test_the_delay_is_the_latency_plus_some_of_the_jitter() -> None:
    faults = injector(rule(latency_ms=100, jitter_ms=50))
    delays = [injection.delay_s for injection in (fire(faults) for _ in range(200)) if injection]
    assert len(delays) == 200
    assert all(0.100 <= delay <= 0.150 for delay in delays)
    assert max(delays) - min(delays) > 0.03


def test_the_oldest_matching_rule_wins() -> None:
    first, second = rule(error="INTERNAL"), rule(error="UNAVAILABLE")
    injection = fire(injector(first, second))
    assert injection is not None
    assert injection.rule == first


def test_listeners_hear_every_injection_and_a_broken_listener_does_not_break_the_call() -> None:
    faults = injector(rule(error="INTERNAL"))
    heard: list[Injection] = []

    def broken(_injection: Injection) -> None:
        raise RuntimeError("listener bug")

    faults.listeners.extend([broken, heard.append])
    injection = fire(faults)
    assert heard == [injection]


def test_new_rules_are_seen_as_soon_as_the_source_changes() -> None:
    source = StaticRules()
    faults = FaultInjector("pricing", "server", source, 1, random.Random(1), clock=lambda: NOW)
    assert fire(faults) is None
    source.set(rule(error="INTERNAL"))
    assert fire(faults) is not None
    source.set()
    assert fire(faults) is None
