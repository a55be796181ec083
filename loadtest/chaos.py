"""A seeded chaos schedule: the lab's fault scenarios injected and cleared at set times while the load runs.

The same mode, seed and duration always give the same schedule, so a run can be repeated and two
runs compared. The first and last 15% of a run stay quiet: a baseline to compare with, and time to
watch the system recover. Faults go through FaultStore on the lab's control directory, exactly as
`purchase fault` does, and every rule expires on its own a few seconds after its window, so a run
that dies never leaves the lab broken.

Modes: `soft` picks only scenarios that break soft dependencies (pricing and email), the failures
the checkout's fallbacks are meant to absorb; `all` adds the hard ones (cart); `none` injects nothing.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from purchase_lab.faults import SCENARIOS, FaultFileError, FaultStore, UnknownRule

log = logging.getLogger(__name__)

MODES = ("none", "soft", "all")
SOFT_DEPENDENCIES = frozenset({"pricing", "email"})
QUIET_SHARE = 0.15
# A fault window lasts 10% to 20% of the run, and 5% to 10% of calm follows it.
WINDOW_SHARE = (0.10, 0.20)
GAP_SHARE = (0.05, 0.10)
# Rules outlive their window by this long, in case the run dies before it clears them.
EXPIRY_GRACE_S = 5.0


def scenario_names(mode: str) -> tuple[str, ...]:
    """The scenarios a mode may pick from; ValueError names the modes there are."""
    if mode not in MODES:
        raise ValueError(f"chaos mode {mode!r} is not known; use one of: {', '.join(MODES)}")
    if mode == "none":
        return ()
    return tuple(
        name
        for name, scenario in SCENARIOS.items()
        if mode == "all" or all(rule["service"] in SOFT_DEPENDENCIES for rule in scenario.rules)
    )


@dataclass(frozen=True)
class Window:
    """One scenario, active from start_s to end_s (seconds since the run started)."""

    scenario: str
    start_s: float
    end_s: float


def build_schedule(mode: str, seed: int, duration_s: float) -> tuple[Window, ...]:
    """The windows of a run: quiet at both ends, scenarios picked by a generator seeded with `seed`."""
    names = scenario_names(mode)
    rng = random.Random(seed)
    windows: list[Window] = []
    start, last = duration_s * QUIET_SHARE, duration_s * (1 - QUIET_SHARE)
    previous = None
    while names:
        length = duration_s * rng.uniform(*WINDOW_SHARE)
        if start + length > last:
            break
        # Never the same scenario twice in a row, so that each window shows something new.
        previous = rng.choice([name for name in names if name != previous] or names)
        windows.append(Window(previous, round(start, 1), round(start + length, 1)))
        start += length + duration_s * rng.uniform(*GAP_SHARE)
    return tuple(windows)


@dataclass(frozen=True)
class ChaosEvent:
    """Something the schedule did: injected or cleared a scenario's rules, at t seconds into the run."""

    t: float
    action: str
    scenario: str
    rules: tuple[str, ...] = ()
    problem: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The event as JSON."""
        return asdict(self)


class Chaos:
    """Plays a schedule against the lab's fault rules and records what it did."""

    def __init__(
        self,
        windows: tuple[Window, ...],
        store: FaultStore,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.windows = windows
        self.store = store
        self._clock = clock
        self._sleep = sleep
        self.events: list[ChaosEvent] = []
        self._started = 0.0

    def run(self, started: float) -> None:
        """Inject and clear each window's scenario on time (clock time `started` is 0 s into the run).

        Stopping the run while a window is open (killing this greenlet or thread) still clears its rules.
        """
        self._started = started
        active: tuple[str, ...] = ()
        window = None
        try:
            for window in self.windows:
                self._wait_until(window.start_s)
                active = self._inject(window)
                self._wait_until(window.end_s)
                self._clear(window.scenario, active)
                active = ()
        finally:
            if active and window is not None:
                self._clear(window.scenario, active)

    def _wait_until(self, offset_s: float) -> None:
        delay = self._started + offset_s - self._clock()
        if delay > 0:
            self._sleep(delay)

    def _now(self) -> float:
        return round(self._clock() - self._started, 2)

    def _inject(self, window: Window) -> tuple[str, ...]:
        ttl_s = window.end_s - window.start_s + EXPIRY_GRACE_S
        try:
            rules = tuple(rule.id for rule in self.store.apply_scenario(window.scenario, ttl_s=ttl_s))
        except (FaultFileError, OSError) as error:
            log.error("chaos could not inject %s: %s", window.scenario, error)
            self.events.append(ChaosEvent(self._now(), "inject", window.scenario, problem=str(error)))
            return ()
        log.info("chaos: injected %s (%s)", window.scenario, ", ".join(rules))
        self.events.append(ChaosEvent(self._now(), "inject", window.scenario, rules))
        return rules

    def _clear(self, scenario: str, rules: tuple[str, ...]) -> None:
        problems = []
        for rule_id in rules:
            try:
                self.store.remove_rule(rule_id)
            except UnknownRule:
                problems.append(f"{rule_id} was already gone (expired, or removed by hand)")
            except (FaultFileError, OSError) as error:
                problems.append(f"{rule_id} could not be removed: {error}")
        log.info("chaos: cleared %s", scenario)
        self.events.append(ChaosEvent(self._now(), "clear", scenario, rules, "; ".join(problems)))
