"""The discount rules: first order, each promo code, rounding, the largest wins, never above the subtotal."""

from __future__ import annotations

import pytest

from services.pricing.adjustments import (
    NO_ADJUSTMENT,
    PROMOTIONS,
    Adjustment,
    Promotion,
    best_adjustment,
    find_promotion,
    first_order_adjustment,
    promotion_adjustment,
)
from services.pricing.errors import MissingPromoCode, UnknownPromotion

pytestmark = pytest.mark.unit


def test_a_first_order_gets_ten_percent_off() -> None:
    assert best_adjustment(4000, first_order=True, promo_code="") == Adjustment(400, "10% off your first order")


def test_a_repeat_order_without_a_code_gets_nothing() -> None:
    assert best_adjustment(4000, first_order=False, promo_code="") == NO_ADJUSTMENT


@pytest.mark.parametrize(
    ("subtotal", "expected"),
    [(1995, 200), (1994, 199), (5, 1), (4, 0), (1, 0)],
    ids=["half-cent-rounds-up", "below-half-rounds-down", "tiny-rounds-up", "tiny-rounds-down", "one-cent"],
)
def test_percentages_round_half_up_to_whole_cents(subtotal: int, expected: int) -> None:
    assert first_order_adjustment(subtotal).amount_cents == expected


def test_spring15_takes_fifteen_percent_off() -> None:
    assert promotion_adjustment("SPRING15", 2010) == Adjustment(302, "15% off with code SPRING15")


def test_take5_takes_five_dollars_off_orders_of_25_dollars_or_more() -> None:
    assert promotion_adjustment("TAKE5", 2500) == Adjustment(500, "$5.00 off with code TAKE5")


def test_take5_gives_nothing_below_25_dollars() -> None:
    assert best_adjustment(2499, first_order=False, promo_code="TAKE5") == NO_ADJUSTMENT


def test_bigbrew_takes_twelve_dollars_off_orders_of_100_dollars_or_more() -> None:
    assert best_adjustment(10_000, first_order=False, promo_code="BIGBREW") == Adjustment(
        1200, "$12.00 off with code BIGBREW"
    )
    assert best_adjustment(9_999, first_order=False, promo_code="BIGBREW") == NO_ADJUSTMENT


def test_codes_ignore_case_and_surrounding_spaces() -> None:
    assert best_adjustment(3000, first_order=False, promo_code="  spring15 ").amount_cents == 450


def test_an_unknown_code_gives_no_discount_instead_of_failing_the_checkout() -> None:
    assert best_adjustment(3000, first_order=False, promo_code="NOSUCHCODE") == NO_ADJUSTMENT
    assert best_adjustment(3000, first_order=True, promo_code="NOSUCHCODE").reason == "10% off your first order"


@pytest.mark.parametrize(
    ("subtotal", "code", "expected"),
    [
        (3000, "SPRING15", Adjustment(450, "15% off with code SPRING15")),  # 15% beats 10%
        (3000, "TAKE5", Adjustment(500, "$5.00 off with code TAKE5")),  # $5 beats $3
        (6000, "TAKE5", Adjustment(600, "10% off your first order")),  # $6 beats $5
        (2400, "TAKE5", Adjustment(240, "10% off your first order")),  # TAKE5 does not apply
    ],
)
def test_only_the_single_largest_discount_applies(subtotal: int, code: str, expected: Adjustment) -> None:
    assert best_adjustment(subtotal, first_order=True, promo_code=code) == expected


def test_a_tie_goes_to_the_first_order_discount() -> None:
    assert best_adjustment(5000, first_order=True, promo_code="TAKE5") == Adjustment(500, "10% off your first order")


@pytest.mark.parametrize("promotion", PROMOTIONS.values(), ids=lambda promotion: promotion.code)
@pytest.mark.parametrize("subtotal", [0, 1, 499, 500, 2500, 10_000, 1_000_000])
@pytest.mark.parametrize("first_order", [True, False])
def test_a_discount_is_never_more_than_the_subtotal(promotion, subtotal: int, first_order: bool) -> None:
    adjustment = best_adjustment(subtotal, first_order, promotion.code)
    assert 0 <= adjustment.amount_cents <= subtotal
    assert bool(adjustment.reason) == (adjustment.amount_cents > 0)


def test_a_fixed_amount_off_is_capped_at_the_subtotal() -> None:
    free_money = Promotion("FREE", "more than you spend", amount_off_cents=5000)
    assert free_money.discount_cents(1200) == 1200


def test_an_empty_cart_gets_no_discount() -> None:
    assert best_adjustment(0, first_order=True, promo_code="SPRING15") == NO_ADJUSTMENT


def test_find_promotion_describes_a_code() -> None:
    promotion = find_promotion("take5")
    assert (promotion.code, promotion.description) == ("TAKE5", "$5.00 off orders of $25.00 or more")


def test_find_promotion_rejects_an_unknown_code_with_advice() -> None:
    with pytest.raises(UnknownPromotion, match=r"promo code 'WINTER99' does not exist; check the spelling"):
        find_promotion("WINTER99")


def test_find_promotion_rejects_an_empty_code() -> None:
    with pytest.raises(MissingPromoCode, match="the promo code is empty"):
        find_promotion("   ")
