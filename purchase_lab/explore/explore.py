"""An exploration: record the call sites fault-free, fault each site, then (depth 2) pairs a fault leaves reachable."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from purchase_lab.config import employee_domain
from purchase_lab.explore.lab import ExploreLab
from purchase_lab.explore.runner import Explorer, Run
from purchase_lab.explore.shop import Shop
from purchase_lab.explore.space import (
    DOWN,
    FAULTS,
    FLAG_COMBOS,
    FLAG_MARKS,
    USER_KINDS,
    Case,
    FlagCombo,
    Injection,
    Site,
    UserKind,
)
from purchase_lab.explore.traces import TraceReceiver

Progress = Callable[[str], None]


@dataclass
class Exploration:
    """Every run of one exploration, by phase, with the counts the report gives."""

    depth: int
    fault_free: list[Run] = field(default_factory=list)
    single: list[Run] = field(default_factory=list)
    pairs: list[Run] = field(default_factory=list)
    pairs_without_reduction: int = 0
    seconds: float = 0.0

    @property
    def runs(self) -> list[Run]:
        """Every run, fault-free first."""
        return [*self.fault_free, *self.single, *self.pairs]

    @property
    def failures(self) -> list[Run]:
        """The runs the oracle failed."""
        return [run for run in self.runs if not run.passed]


def applicable(site: Site, calls: list[Site]) -> tuple[str, ...]:
    """The faults a site can meet: DOWN only at a service's first call (a process down is down for the checkout)."""
    first = next(call for call in calls if call.service == site.service)
    return FAULTS if site == first else tuple(fault for fault in FAULTS if fault != DOWN)


def single_cases(fault_free: list[Run]) -> list[Case]:
    """Each site of each fault-free run with each fault that applies to it."""
    return [
        Case(run.case.flags, run.case.kind, (Injection(site, fault),))
        for run in fault_free
        for site in run.calls
        for fault in applicable(site, run.calls)
    ]


def pair_cases(single: list[Run]) -> list[Case]:
    """Dynamic reduction: a second fault only at the sites the run with the first fault alone went on to call."""
    cases = []
    for run in single:
        (first,) = run.case.faults
        if first.site not in run.calls:
            continue
        later = run.calls[run.calls.index(first.site) + 1 :]
        for site in later:
            if site.service in run.case.down:
                continue
            for fault in applicable(site, run.calls):
                cases.append(Case(run.case.flags, run.case.kind, (first, Injection(site, fault))))
    return cases


def pairs_without_reduction(fault_free: list[Run], single: list[Run]) -> int:
    """The pairs a search without reduction runs: every ordered pair of known sites, every fault at each.

    The known sites of a flag combination and user kind are those of its fault-free run, plus any
    a single fault uncovered (such as cart.CancelOrder after an email failed with fallbacks off).
    """
    total = 0
    for base in fault_free:
        known = list(base.calls)
        for run in single:
            if (run.case.flags, run.case.kind) == (base.case.flags, base.case.kind):
                known += [site for site in run.calls if site not in known]
        counts = [len(applicable(site, known)) for site in known]
        total += sum(counts[i] * counts[j] for i in range(len(known)) for j in range(i + 1, len(known)))
    return total


@contextmanager
def running_lab(run_dir: Path, progress: Progress = lambda _line: None) -> Iterator[Explorer]:
    """A lab for this exploration, its trace receiver and shop, stopped afterwards."""
    receiver = TraceReceiver().start()
    lab = ExploreLab(run_dir, FLAG_MARKS, receiver.endpoint)
    try:
        lab.start()
        shop = Shop(lab.gateway_url, lab.target("email"), employee_domain())
        try:
            yield Explorer(lab, receiver, shop, progress)
        finally:
            shop.close()
    finally:
        lab.stop()
        receiver.stop()


def explore(
    run_dir: Path,
    depth: int = 1,
    flags: tuple[FlagCombo, ...] = FLAG_COMBOS,
    kinds: tuple[UserKind, ...] = USER_KINDS,
    progress: Progress = lambda _line: None,
) -> Exploration:
    """Run the exploration against a lab started for it; every run is checked by the oracle."""
    started = time.monotonic()
    found = Exploration(depth)
    with running_lab(run_dir, progress) as explorer:
        progress(f"lab up at {explorer.lab.gateway_url}; recording call sites")
        found.fault_free = explorer.run([Case(combo, kind) for combo in flags for kind in kinds])
        cases = single_cases([run for run in found.fault_free if run.passed])
        progress(f"{len(cases)} single-fault runs")
        found.single = explorer.run(cases)
        if depth >= 2:
            cases = pair_cases(found.single)
            found.pairs_without_reduction = pairs_without_reduction(found.fault_free, found.single)
            progress(f"{len(cases)} pairs of faults ({found.pairs_without_reduction} without reduction)")
            found.pairs = explorer.run(cases)
    found.seconds = time.monotonic() - started
    return found


def replay(path: Path, run_dir: Path) -> Run:
    """Run the case of a replay file again, against a lab started for it."""
    case = Case.from_dict(json.loads(path.read_text(encoding="utf-8"))["case"])
    with running_lab(run_dir) as explorer:
        (run,) = explorer.run([case])
    return run
