"""Pricing 1.2 (released, frozen): the same discounts as 1.0, with a warmer first-order reason on the receipt."""

from __future__ import annotations

from collections.abc import Sequence

from services.pricing.adjustments import FIRST_ORDER_PERCENT, Adjustment, best_adjustment

VERSION = "1.2"
WELCOME_REASON = f"Welcome! {FIRST_ORDER_PERCENT}% off your first order"


def adjustment(subtotal_cents: int, first_order: bool, promo_code: str, offers: Sequence[Adjustment]) -> Adjustment:
    """The largest single discount; the first-order discount now greets the new customer."""
    chosen = best_adjustment(subtotal_cents, first_order, promo_code, offers)
    if first_order and chosen.reason == f"{FIRST_ORDER_PERCENT}% off your first order":
        return Adjustment(chosen.amount_cents, WELCOME_REASON)
    return chosen
