"""The oracle reads the checkout table right, and the search space is built as the issue says."""

from __future__ import annotations

from pathlib import Path

import pytest

from purchase_lab.explore.explore import applicable, pair_cases, pairs_without_reduction, single_cases
from purchase_lab.explore.oracle import expect
from purchase_lab.explore.runner import Run
from purchase_lab.explore.space import (
    FAULTS,
    FLAG_COMBOS,
    FLAG_MARKS,
    USER_KINDS,
    Case,
    FlagCombo,
    Injection,
    Site,
    UserKind,
)

pytestmark = pytest.mark.unit

FIRST = UserKind(first_order=True, promo=False, employee=False)
RETURNING = UserKind(first_order=False, promo=False, employee=True)
ON = FlagCombo(fallbacks=True, loyalty=False)
OFF = FlagCombo(fallbacks=False, loyalty=False)


def fault(label: str, kind: str = "UNAVAILABLE") -> Injection:
    return Injection(Site.parse(label), kind)


def test_a_fault_free_first_order_is_placed_with_both_emails_sent() -> None:
    expected = expect(Case(ON, FIRST))
    assert (expected.status, expected.order, expected.cart, expected.discount) == (201, "placed", "emptied", True)
    assert expected.emails == {"order_confirmation": "sent", "discount": "sent"}
    assert expected.calls == [
        "cart.GetCart#1",
        "pricing.GetAdjustment#1",
        "cart.UpdateCart#1",
        "cart.PlaceOrder#1",
        "email.SendOrderConfirmation#1",
        "email.SendDiscountEmail#1",
    ]


def test_pricing_failing_for_an_eligible_user_asks_them_to_retry_with_fallbacks_on() -> None:
    expected = expect(Case(ON, FIRST, (fault("pricing.GetAdjustment#1"),)))
    assert (expected.status, expected.code, expected.dependency, expected.order) == (
        503,
        "dependency_unavailable",
        "pricing",
        "none",
    )


def test_pricing_failing_for_an_ineligible_user_falls_back_to_no_discount() -> None:
    expected = expect(Case(FlagCombo(True, True), RETURNING, (fault("pricing.GetAdjustment#1", "LATENCY"),)))
    assert (expected.status, expected.discount, expected.emails["discount"]) == (201, False, "none")
    assert expected.degraded == [{"dependency": "pricing", "fallback": "no_adjustment", "error": "DEADLINE_EXCEEDED"}]
    assert "cart.UpdateCart#1" not in expected.calls


def test_the_discount_email_failing_with_fallbacks_off_cancels_after_the_confirmation_went_out() -> None:
    expected = expect(Case(OFF, FIRST, (fault("email.SendDiscountEmail#1", "INTERNAL"),)))
    assert (expected.status, expected.code, expected.order, expected.cart) == (
        503,
        "order_cancelled",
        "cancelled",
        "unchanged",
    )
    assert expected.emails == {"order_confirmation": "sent", "discount": "none"}
    assert expected.calls[-1] == "cart.CancelOrder#1"


def test_a_failed_cancellation_leaves_the_order_standing_without_its_email() -> None:
    faults = (fault("email.SendOrderConfirmation#1"), fault("cart.CancelOrder#1", "DEADLINE_EXCEEDED"))
    expected = expect(Case(OFF, FIRST, faults))
    assert (expected.code, expected.order, expected.cart) == ("dependency_unavailable", "placed", "emptied")


def test_email_failing_with_fallbacks_on_queues_every_email_not_yet_sent() -> None:
    expected = expect(Case(ON, FIRST, (fault("email.SendOrderConfirmation#1", "DOWN"),)))
    assert (expected.status, expected.email) == (201, "queued")
    assert expected.emails == {"order_confirmation": "queued", "discount": "queued"}
    assert expected.degraded == [{"dependency": "email", "fallback": "queued", "error": "UNAVAILABLE"}]


def test_the_matrix_covers_four_flag_combinations_and_six_user_kinds() -> None:
    assert len(FLAG_COMBOS) == 4
    assert len(USER_KINDS) == 6
    assert {kind.eligible for kind in USER_KINDS} == {True, False}


def test_down_applies_only_at_a_services_first_call() -> None:
    calls = [Site.parse(label) for label in ("cart.GetCart#1", "cart.PlaceOrder#1")]
    assert applicable(calls[0], calls) == FAULTS
    assert "DOWN" not in applicable(calls[1], calls)


def run_of(case: Case, *labels: str) -> Run:
    return Run(case, calls=[Site.parse(label) for label in labels], checked=True)


def test_pairs_go_only_where_the_first_fault_leaves_the_checkout_going() -> None:
    sites = ("cart.GetCart#1", "pricing.GetAdjustment#1", "cart.PlaceOrder#1", "email.SendOrderConfirmation#1")
    base = run_of(Case(ON, RETURNING), *sites)
    singles = single_cases([base])
    assert len(singles) == 5 + 5 + 4 + 5
    # GetCart failing ends the checkout; pricing failing for this user lets it go on to two more sites.
    stopped = run_of(singles[0], "cart.GetCart#1")
    went_on = run_of(Case(ON, RETURNING, (fault("pricing.GetAdjustment#1"),)), *sites)
    pairs = pair_cases([stopped, went_on])
    assert len(pairs) == 4 + 5
    assert {pair.faults[1].site.label for pair in pairs} == {"cart.PlaceOrder#1", "email.SendOrderConfirmation#1"}
    assert pairs_without_reduction([base], [stopped, went_on]) == 5 * 5 + 5 * 4 + 5 * 5 + 5 * 4 + 5 * 5 + 4 * 5


def test_a_case_survives_its_replay_file() -> None:
    case = Case(OFF, RETURNING, (fault("email.SendOrderConfirmation#1", "DOWN"),))
    assert Case.from_dict(case.to_dict()) == case
    with pytest.raises(ValueError, match="not known"):
        Case.from_dict({**case.to_dict(), "faults": [{"site": "cart.GetCart#1", "fault": "SLOW"}]})


def test_the_guide_names_every_fault_and_the_flag_marks_the_lab_uses() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "explore.md").read_text()
    assert all(f"`{fault}`" in guide for fault in FAULTS)
    assert all(f"`.{mark}1.`" in guide for mark in FLAG_MARKS.values())
