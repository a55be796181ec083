"""What a checkout adds to the console's counters, and how the console reads gRPC targets and ramp samples."""

from __future__ import annotations

import pytest

from services.gateway.admin_console import target_addresses
from services.gateway.ops_checkouts import CheckoutRecord, outcome_of
from services.gateway.ops_log import carried_forward

pytestmark = pytest.mark.unit

FLAGS = {"checkout.fallbacks": True, "pricing.loyalty_discount": False}


def record(**fields: object) -> CheckoutRecord:
    """A checkout record with sensible defaults for the fields a test does not care about."""
    defaults: dict[str, object] = {
        "at": 0.0,
        "user_id": "ada",
        "employee": False,
        "status": 201,
        "outcome": "placed",
        "duration_ms": 5.0,
    }
    return CheckoutRecord(**{**defaults, **fields})


def test_a_healthy_checkout_counts_every_dependency_and_its_flag_variants() -> None:
    counts = record(flags=FLAGS).counters()
    assert counts == {
        "checkout:requests": 1,
        "dep:cart:checkouts": 1,
        "dep:pricing:checkouts": 1,
        "dep:email:checkouts": 1,
        "flag:checkout.fallbacks:eligible": 1,
        "flag:checkout.fallbacks:on:exposed": 1,
        "flag:checkout.fallbacks:on:succeeded": 1,
        "flag:pricing.loyalty_discount:eligible": 1,
        "flag:pricing.loyalty_discount:off:exposed": 1,
        "flag:pricing.loyalty_discount:off:succeeded": 1,
    }


def test_a_degraded_checkout_counts_the_failed_soft_dependency_and_its_fallback() -> None:
    degraded = [{"dependency": "email", "fallback": "queued", "error": "UNAVAILABLE"}]
    counts = record(email="queued", degraded=degraded).counters()
    assert counts["dep:email:failed"] == 1
    assert counts["fallback:email"] == 1
    assert counts["checkout:degraded"] == 1
    assert "checkout:errors" not in counts
    assert "dep:pricing:failed" not in counts


def test_a_failed_checkout_counts_the_dependency_that_failed_and_those_reached_before_it() -> None:
    error = {"code": "dependency_unavailable", "message": "pricing is down", "dependency": "pricing"}
    counts = record(status=503, outcome="failed", error=error, flags={"checkout.fallbacks": False}).counters()
    assert counts["checkout:errors"] == 1
    assert (counts["dep:cart:checkouts"], counts.get("dep:cart:failed", 0)) == (1, 0)
    assert (counts["dep:pricing:checkouts"], counts["dep:pricing:failed"]) == (1, 1)
    assert "dep:email:checkouts" not in counts
    assert "fallback:pricing" not in counts  # the checkout failed: no fallback ran
    assert counts["flag:checkout.fallbacks:off:failed"] == 1


def test_a_rejected_checkout_is_neither_a_success_nor_a_failure() -> None:
    counts = record(status=409, outcome="rejected", flags=FLAGS).counters()
    assert counts["checkout:rejected"] == 1
    assert counts["flag:checkout.fallbacks:on:exposed"] == 1
    assert not any(name.endswith((":succeeded", ":failed")) or name.startswith("dep:") for name in counts)


def test_a_replayed_checkout_does_not_ask_pricing_again() -> None:
    counts = record(status=200, outcome="replayed").counters()
    assert "dep:pricing:checkouts" not in counts
    assert counts["dep:email:checkouts"] == 1


@pytest.mark.parametrize(("status", "outcome"), [(201, "placed"), (409, "rejected"), (503, "failed"), (500, "failed")])
def test_outcome_of_an_http_status(status: int, outcome: str) -> None:
    assert outcome_of(status) == outcome


@pytest.mark.parametrize(
    ("target", "addresses"),
    [
        ("127.0.0.1:50052", ["127.0.0.1:50052"]),
        ("ipv4:127.0.0.1:50052,127.0.0.1:50152", ["127.0.0.1:50052", "127.0.0.1:50152"]),
        ("dns:///pricing:50052", ["pricing:50052"]),
        ("pricing:50052", ["pricing:50052"]),
    ],
)
def test_target_addresses_lists_every_replica(target: str, addresses: list[str]) -> None:
    assert target_addresses(target) == addresses


def test_ramp_samples_are_carried_forward_between_samples() -> None:
    assert carried_forward([None, 10, None, None, 50, None]) == [None, 10, 10, 10, 50, 50]
