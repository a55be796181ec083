"""Pricing 1.1 (released, frozen): a cache of rounded discounts, with a defect that shows only under traffic.

The cache holds the last few discounts it computed. It was meant to drop the oldest entry when full; it
raises instead, so every fourth call in a process fails (gRPC status UNKNOWN). One call, as a happy-path
unit test makes, always succeeds: only a stream of real calls finds the bug.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from services.pricing.adjustments import Adjustment, best_adjustment

VERSION = "1.1"
CACHE_SIZE = 3

_cache: list[tuple[tuple[int, bool, str], Adjustment]] = []
_lock = threading.Lock()


class RoundingCacheFull(RuntimeError):
    """The defect of 1.1: the cache was full, and nothing evicts from it."""


def adjustment(subtotal_cents: int, first_order: bool, promo_code: str, offers: Sequence[Adjustment]) -> Adjustment:
    """The largest single discount, remembered in the cache."""
    computed = best_adjustment(subtotal_cents, first_order, promo_code, offers)
    with _lock:
        if len(_cache) >= CACHE_SIZE:
            _cache.clear()
            raise RoundingCacheFull(f"rounding cache full ({CACHE_SIZE} entries)")
        _cache.append(((subtotal_cents, first_order, promo_code), computed))
    return computed
