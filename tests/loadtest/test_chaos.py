"""The chaos schedule: repeatable from its seed, quiet at both ends, and played against a real rule file."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from loadtest.chaos import QUIET_SHARE, Chaos, Window, build_schedule, scenario_names
from purchase_lab.faults import SCENARIOS, FaultStore

pytestmark = pytest.mark.unit


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another():
    assert build_schedule("all", 7, 300) == build_schedule("all", 7, 300)
    assert build_schedule("all", 7, 300) != build_schedule("all", 8, 300)


@pytest.mark.parametrize("seed", range(20))
def test_windows_leave_the_start_and_end_quiet_and_never_overlap(seed: int):
    windows = build_schedule("all", seed, 120)

    assert windows
    assert windows[0].start_s >= 120 * QUIET_SHARE - 0.1
    assert windows[-1].end_s <= 120 * (1 - QUIET_SHARE) + 0.1
    assert all(a.end_s < b.start_s for a, b in pairwise(windows))
    assert all(a.scenario != b.scenario for a, b in pairwise(windows))


def test_soft_mode_breaks_only_soft_dependencies_and_all_mode_adds_the_cart():
    soft = {rule["service"] for name in scenario_names("soft") for rule in SCENARIOS[name].rules}
    everything = {rule["service"] for name in scenario_names("all") for rule in SCENARIOS[name].rules}

    assert soft == {"pricing", "email"}
    assert "cart" in everything
    assert build_schedule("none", 1, 300) == ()


def test_an_unknown_mode_names_the_known_ones():
    with pytest.raises(ValueError, match="use one of: none, soft, all"):
        build_schedule("most", 1, 60)


class FakeTime:
    """A clock that sleeping moves forward, and a look at the rule file at each moment."""

    def __init__(self, store: FaultStore) -> None:
        self.now = 100.0
        self.store = store
        self.seen: list[tuple[float, list[str]]] = []

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.seen.append((self.now - 100.0, [rule.description for rule in self.store.list_rules()]))


def test_chaos_injects_each_scenario_for_its_window_and_records_it(tmp_path: Path):
    store = FaultStore(tmp_path)
    time = FakeTime(store)
    chaos = Chaos((Window("email-down", 10, 20), Window("cart-crash", 30, 40)), store, lambda: time.now, time.sleep)

    chaos.run(started=100.0)

    assert [(round(t), rules) for t, rules in time.seen] == [
        (10, []),
        (20, ["scenario email-down: email is down"]),
        (30, []),
        (40, ["scenario cart-crash: cart is down"]),
    ]
    assert [(e.t, e.action, e.scenario) for e in chaos.events] == [
        (10, "inject", "email-down"),
        (20, "clear", "email-down"),
        (30, "inject", "cart-crash"),
        (40, "clear", "cart-crash"),
    ]
    assert store.list_rules() == []


def test_stopping_inside_a_window_still_clears_its_rules(tmp_path: Path):
    store = FaultStore(tmp_path)

    def stop_in_the_window(_seconds: float) -> None:
        if store.list_rules():
            raise KeyboardInterrupt

    chaos = Chaos((Window("email-down", 0, 20),), store, lambda: 0.0, stop_in_the_window)
    with pytest.raises(KeyboardInterrupt):
        chaos.run(started=0.0)

    assert store.list_rules() == []
    assert [e.action for e in chaos.events] == ["inject", "clear"]


def test_a_rule_removed_by_hand_meanwhile_is_noted_not_fatal(tmp_path: Path):
    store = FaultStore(tmp_path)

    def student_resets(_seconds: float) -> None:
        store.reset()

    chaos = Chaos((Window("pricing-slow", 0, 5),), store, lambda: 0.0, student_resets)
    chaos.run(started=0.0)

    assert "already gone" in chaos.events[-1].problem


def test_rules_expire_on_their_own_shortly_after_their_window(tmp_path: Path):
    store = FaultStore(tmp_path)
    chaos = Chaos((Window("email-down", 0, 20),), store, lambda: 0.0, lambda _s: None)
    expiries: list[float] = []
    original = store.apply_scenario

    def spy(name: str, ttl_s: float | None = None) -> list:
        rules = original(name, ttl_s)
        expiries.extend(rule.expires_at - rule.created_at for rule in rules)
        return rules

    store.apply_scenario = spy  # type: ignore[method-assign]
    chaos.run(started=0.0)

    assert expiries == [pytest.approx(25)]
