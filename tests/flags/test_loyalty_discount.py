"""Unit tests of the feature behind pricing.loyalty_discount: pricing's loyalty rule for returning customers."""

from __future__ import annotations

import pytest

from services.pricing.adjustments import LOYALTY_REASON, Adjustment, best_adjustment, loyalty_adjustment
from services.pricing.catalogue import price_lines, subtotal_cents

pytestmark = pytest.mark.unit


def test_a_returning_customer_gets_a_share_of_each_line_by_category() -> None:
    lines = price_lines([("COF-COL-500", 2), ("BRW-V60-02", 1)])  # $48.00 of coffee, a $25.00 dripper

    assert loyalty_adjustment(lines) == Adjustment(240 + 75, LOYALTY_REASON)


@pytest.mark.parametrize(
    ("items", "cents"),
    [
        ([("TEA-ASM-250", 1)], 55),  # 5% of $11.00
        ([("BRW-FLT-100", 1)], 20),  # 3% of $6.50 is 19.5 cents: half up
        ([("BRW-FLT-100", 2)], 39),  # one line of 2: 3% of $13.00
        ([("BRW-FLT-100", 1), ("BRW-FLT-100", 1)], 40),  # two lines of 1, each rounded up
        ([("COF-DEC-250", 1), ("TEA-SEN-100", 1), ("BRW-GRD-HND", 1)], 73 + 60 + 207),
    ],
)
def test_each_line_is_rounded_half_up_to_the_cent_then_summed(items: list[tuple[str, int]], cents: int) -> None:
    assert loyalty_adjustment(price_lines(items)).amount_cents == cents


def test_the_largest_discount_still_wins() -> None:
    lines = price_lines([("COF-ESP-1000", 2)])  # $76.00
    loyalty = loyalty_adjustment(lines)

    assert best_adjustment(subtotal_cents(lines), False, "", [loyalty]) == Adjustment(380, LOYALTY_REASON)
    assert best_adjustment(subtotal_cents(lines), False, "SPRING15", [loyalty]).reason == "15% off with code SPRING15"
    assert best_adjustment(subtotal_cents(lines), False, "TAKE5", [loyalty]) == Adjustment(
        500, "$5.00 off with code TAKE5"
    )


def test_without_the_offer_pricing_is_as_before() -> None:
    lines = price_lines([("COF-ESP-1000", 2)])

    assert best_adjustment(subtotal_cents(lines), False, "").amount_cents == 0
