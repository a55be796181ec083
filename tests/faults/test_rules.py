"""A fault rule is checked field by field, with a message that says how to fix each bad one."""

from __future__ import annotations

import pytest

from purchase_lab.faults.rules import (
    DEFAULT_TTL_S,
    CallFacts,
    RuleError,
    new_rule,
    rule_from_dict,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"service": "shipping", "error": "INTERNAL"}, "service='shipping' is not known; use one of: cart, pricing"),
        ({"service": "cart", "side": "middle", "error": "INTERNAL"}, "side='middle' is not known; use one of: server"),
        ({"service": "gateway", "side": "client", "error": "INTERNAL"}, "side=client needs a downstream"),
        ({"service": "pricing", "error": "BROKEN"}, "error='BROKEN' is not a gRPC status; use one of: CANCELLED"),
        ({"service": "pricing", "error": 503}, "error=503: HTTP codes are for the gateway; pricing speaks gRPC"),
        ({"service": "gateway", "error": "UNAVAILABLE"}, "the gateway answers HTTP; give a status from 400 to 599"),
        ({"service": "gateway", "error": 302}, "error=302: the gateway answers HTTP"),
        ({"service": "email", "error": "unreachable"}, "error='unreachable' is client side only"),
        ({"service": "email", "error": "INTERNAL", "rate": 0}, "rate=0 never fires"),
        ({"service": "email", "error": "INTERNAL", "rate": 1.5}, "rate=1.5 is out of range; give a number from 0 to 1"),
        ({"service": "email", "error": "INTERNAL", "rate": -0.1}, "rate=-0.1 is out of range"),
        ({"service": "email", "error": "INTERNAL", "rate": "often"}, "rate='often' is not a number"),
        ({"service": "email", "error": "INTERNAL", "rate": True}, "rate=True is not a number"),
        ({"service": "email", "latency_ms": -5}, "latency_ms=-5 is out of range; give a whole number from 0 to 60000"),
        ({"service": "email", "latency_ms": 1.5}, "latency_ms=1.5 is not a whole number"),
        ({"service": "email", "latency_ms": 10, "jitter_ms": -1}, "jitter_ms=-1 is out of range"),
        ({"service": "email"}, "the rule does nothing: give an error, a latency_ms, or both"),
        ({"service": "email", "error": "INTERNAL", "replica": 0}, "replica=0 is out of range"),
        ({"service": "email", "side": "client", "error": "INTERNAL", "replica": 2}, "replica is for server-side"),
        ({"service": "pricing", "error": "INTERNAL", "method": "GetAdjusment"}, "use one of: ListProducts, GetProduct"),
        ({"service": "gateway", "error": 503, "method": "checkout"}, "give an HTTP path prefix such as /api/v1/"),
        ({"service": "cart", "error": "INTERNAL", "ttl_s": 0}, "ttl_s=0 is out of range; give a number from 1 to 3600"),
        ({"service": "cart", "error": "INTERNAL", "ttl_s": 7200}, "ttl_s=7200 is out of range"),
        ({"service": "cart", "error": "INTERNAL", "user": ""}, "user='': give a non-empty text"),
        ({"service": "cart", "error": "INTERNAL", "sku": 42}, "sku=42: give a non-empty text"),
        ({"service": "cart", "error": "INTERNAL", "description": "x" * 201}, "at most 200 characters"),
        ({"service": "cart", "error": "INTERNAL", "colour": "red"}, "unknown field 'colour'; the fields are: service"),
    ],
)
def test_a_bad_field_is_rejected_with_a_message_that_says_what_to_do(fields: dict[str, object], message: str) -> None:
    with pytest.raises(RuleError) as raised:
        new_rule(fields)
    assert message in str(raised.value)


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(RuleError) as raised:
        new_rule({"service": "pricing", "error": "NOPE", "rate": 2, "latency_ms": -1})
    assert len(raised.value.problems) == 3


def test_a_good_rule_is_normalised_and_stamped() -> None:
    rule = new_rule(
        {"service": " Pricing ", "method": "getadjustment", "error": "unavailable", "sku": " cof-eth-250 "},
        now=1000.0,
    )
    assert (rule.service, rule.side, rule.method, rule.error) == ("pricing", "server", "GetAdjustment", "UNAVAILABLE")
    assert rule.sku == "COF-ETH-250"
    assert rule.rate == 1.0
    assert (rule.created_at, rule.expires_at) == (1000.0, 1000.0 + DEFAULT_TTL_S)
    assert rule.id.startswith("f-")
    assert rule.details == f"injected fault {rule.id}: a fault injected by the lab"


def test_command_line_text_is_accepted_for_numbers_and_http_codes() -> None:
    rule = new_rule({"service": "gateway", "error": "503", "rate": "0.25", "latency_ms": "40", "ttl_s": "60"}, now=0)
    assert (rule.error, rule.rate, rule.latency_ms, rule.expires_at) == (503, 0.25, 40, 60)


def test_unreachable_is_allowed_on_the_client_side() -> None:
    assert new_rule({"service": "email", "side": "client", "error": "UNREACHABLE"}).error == "unreachable"


def test_a_stored_rule_reads_back_as_it_was_written() -> None:
    rule = new_rule({"service": "cart", "latency_ms": 30, "jitter_ms": 5, "user": "alice", "description": "slow"})
    assert rule_from_dict(rule.to_dict()) == rule


def test_a_stored_rule_without_an_id_or_expiry_is_rejected() -> None:
    with pytest.raises(RuleError, match="every stored rule needs a non-empty string id") as raised:
        rule_from_dict({"service": "cart", "error": "INTERNAL"})
    assert "expires_at=None" not in str(raised.value)
    with pytest.raises(RuleError, match="expires_at='soon' is not a number"):
        rule_from_dict({"id": "f-1", "service": "cart", "error": "INTERNAL", "created_at": 0, "expires_at": "soon"})


def test_a_rule_applies_to_its_service_side_and_replica_only() -> None:
    rule = new_rule({"service": "pricing", "replica": 2, "error": "INTERNAL"})
    assert rule.applies_to("pricing", "server", 2)
    assert not rule.applies_to("pricing", "server", 1)
    assert not rule.applies_to("cart", "server", 2)
    assert not rule.applies_to("pricing", "client", 2)
    assert new_rule({"service": "pricing", "error": "INTERNAL"}).applies_to("pricing", "server", 3)


def test_a_method_rule_covers_that_method_and_a_path_rule_covers_whole_path_segments() -> None:
    grpc_rule = new_rule({"service": "pricing", "method": "GetAdjustment", "error": "INTERNAL"})
    assert grpc_rule.covers("GetAdjustment")
    assert not grpc_rule.covers("ListProducts")
    http_rule = new_rule({"service": "gateway", "method": "/api/v1/cart/", "error": 503})
    assert http_rule.covers("/api/v1/cart")
    assert http_rule.covers("/api/v1/cart/items/COF-1")
    assert not http_rule.covers("/api/v1/cartography")


@pytest.mark.parametrize(
    ("fields", "facts", "hit"),
    [
        ({"user": "alice"}, CallFacts(user="alice"), True),
        ({"user": "alice"}, CallFacts(user="bob"), False),
        ({"sku": "cof-1"}, CallFacts(skus=frozenset({"TEA-2", "COF-1"})), True),
        ({"sku": "cof-1"}, CallFacts(skus=frozenset({"TEA-2"})), False),
        ({"promo": "spring15"}, CallFacts(promos=frozenset({"SPRING15"})), True),
        ({"promo": "spring15"}, CallFacts(), False),
        ({"user": "alice", "promo": "SPRING15"}, CallFacts(user="alice"), False),
        ({}, CallFacts(), True),
    ],
)
def test_a_rule_hits_only_calls_with_its_user_sku_and_promo(
    fields: dict[str, object], facts: CallFacts, hit: bool
) -> None:
    rule = new_rule({"service": "pricing", "error": "INTERNAL", **fields})
    assert rule.matches(facts) is hit
