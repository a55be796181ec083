"""The short soak: chaos load while every gRPC service is killed in turn and Redis restarts, then the checks.

`make soak` runs the long one (loadtest/soak.py). Here the same run, two parts of 30 s with fewer users.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.chaos import scenario_names
from loadtest.soak import DISRUPTIONS, soak

pytestmark = pytest.mark.integration

DURATION_S = 30
USERS = 8


@pytest.mark.timeout(600)
def test_a_short_soak_loses_nothing_and_recovers_from_every_kill(tmp_path: Path) -> None:
    result = soak(tmp_path, DURATION_S, USERS, seed=1)
    figures = result.to_dict()

    assert result.load_exit == 0, (tmp_path / "kills" / "load.log").read_text(encoding="utf-8")[-3000:]
    assert result.checkouts >= 5, figures
    assert result.invariants["ok"], result.invariants
    assert result.unexpected_failures == [], figures
    assert result.slowest_checkout_ms <= result.budget_ms + 500, figures
    assert [disruption.service for disruption in result.disruptions] == [name for name, _ in DISRUPTIONS]
    for disruption in result.disruptions:
        assert disruption.recovery_s is not None, figures
    assert set(result.scenarios) == set(scenario_names("soft")), figures
    assert result.ok
