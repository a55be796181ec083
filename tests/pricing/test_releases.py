"""Pricing's releases: 1.1's defect hides from one call and shows under a stream of calls; 1.2's new reason."""

from __future__ import annotations

import pytest

from services.pricing.releases import load_release

pytestmark = pytest.mark.unit


def test_each_release_loads_its_own_code() -> None:
    assert [load_release(version).VERSION for version in ("1.0", "1.1", "1.2")] == ["1.0", "1.1", "1.2"]


def test_release_1_1_passes_a_happy_path_test_but_fails_under_traffic() -> None:
    release = load_release("1.1")
    assert release.adjustment(2000, True, "", []).amount_cents == 200
    outcomes = []
    for _ in range(40):
        try:
            release.adjustment(2000, True, "", [])
            outcomes.append("ok")
        except RuntimeError as error:
            outcomes.append(str(error))
    assert 8 <= outcomes.count("rounding cache full (3 entries)") <= 12


def test_release_1_2_greets_first_orders_and_keeps_the_amounts() -> None:
    old, new = load_release("1.0"), load_release("1.2")
    assert old.adjustment(2000, True, "", []).reason == "10% off your first order"
    welcomed = new.adjustment(2000, True, "", [])
    assert (welcomed.amount_cents, welcomed.reason) == (200, "Welcome! 10% off your first order")
    assert new.adjustment(4000, False, "SPRING15", []) == old.adjustment(4000, False, "SPRING15", [])
