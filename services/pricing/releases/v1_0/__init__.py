"""Pricing 1.0 (released, frozen): the single largest discount that applies, with the rules' own reason text."""

from __future__ import annotations

from collections.abc import Sequence

from services.pricing.adjustments import Adjustment, best_adjustment

VERSION = "1.0"


def adjustment(subtotal_cents: int, first_order: bool, promo_code: str, offers: Sequence[Adjustment]) -> Adjustment:
    """The largest single discount, never more than the subtotal."""
    return best_adjustment(subtotal_cents, first_order, promo_code, offers)
