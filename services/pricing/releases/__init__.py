"""Pricing's releases side by side: each version's behaviour-defining code in its own frozen folder.

A replica loads one release at start, the one PURCHASE_RELEASE names (see purchase_lab/releases).
Folders v1_0, v1_1, ... are released and frozen: their hashes are in purchase_lab/releases/frozen.json
and a test fails when they change. A change of behaviour is a new folder and a new release.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Protocol

from purchase_lab.releases import running_release
from services.pricing.adjustments import Adjustment


class PricingRelease(Protocol):
    """What differs between pricing releases: how the discount for a cart is chosen."""

    VERSION: str

    def adjustment(
        self, subtotal_cents: int, first_order: bool, promo_code: str, offers: Sequence[Adjustment]
    ) -> Adjustment:
        """The discount for a cart with this subtotal, first-order status, promo code and other offers."""
        ...


def load_release(version: str | None = None) -> PricingRelease:
    """The code of release `version` (by default the one this process runs), imported from its folder."""
    chosen = version or running_release("pricing")
    module = importlib.import_module(f"{__name__}.v{chosen.replace('.', '_')}")
    return module  # type: ignore[return-value]
