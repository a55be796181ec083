"""A drift check: record the functional scenarios on the fakes, replay them on real services, classify the diff."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from purchase_lab.drift.compare import ROOT, Difference, classify, default_real_to_fake, http_values
from purchase_lab.drift.record import RECORD_ENV
from purchase_lab.drift.replay import Pass, Scenario, load
from purchase_lab.explore.lab import ExploreLab
from purchase_lab.explore.space import FLAG_MARKS
from purchase_lab.flags import LOYALTY_DISCOUNT

# The downstreams' flags: pricing.loyalty_discount changes pricing's answers. (checkout.fallbacks is
# the gateway's own flag: the fakes stand in for what is below it, so it does not change their answers.)
DOWNSTREAM_FLAGS = {LOYALTY_DISCOUNT: (False, True)}
WORKERS = 8
RECORD_TIMEOUT_S = 900

Progress = Callable[[str], None]


class RecordingFailed(RuntimeError):
    """The functional tests could not be run to record the fakes' answers."""


@dataclass
class DriftRun:
    """What one drift check found."""

    scenarios: int = 0
    calls: int = 0
    differences: list[Difference] = field(default_factory=list)
    seconds: float = 0.0


def checkout_of(tests: Path) -> Path:
    """The clone the tests belong to: the nearest folder above them with a pyproject.toml."""
    for folder in tests.resolve().parents:
        if (folder / "pyproject.toml").exists():
            return folder
    raise RecordingFailed(f"{tests} is not inside a clone of the repository (no pyproject.toml above it)")


def record(out: Path, tests: Path = ROOT / "tests" / "gateway") -> Path:
    """Run the gateway's functional tests with recording on; the recording's path.

    A failing test does not stop the recording: what its fakes answered is still what it relied on.
    """
    if not tests.exists():
        raise RecordingFailed(f"no functional tests at {tests}; run `purchase drift` from a clone of the repository")
    recording = out / "recording.jsonl"
    recording.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pytest", str(tests), "-m", "functional", "-q", "-p", "no:cacheprovider"]
    env = {**os.environ, RECORD_ENV: str(recording)}
    with (out / "functional-tests.log").open("w") as log:
        subprocess.run(command, cwd=checkout_of(tests), env=env, stdout=log, stderr=log, timeout=RECORD_TIMEOUT_S)
    if not recording.exists():
        raise RecordingFailed(f"the functional tests recorded nothing; see {out / 'functional-tests.log'}")
    return recording


def flag_label(loyalty: bool) -> str:
    """`loyalty=on`."""
    return f"loyalty={'on' if loyalty else 'off'}"


def replay_scenario(scenario: Scenario, targets: dict[str, str], loyalty: bool) -> tuple[int, list[Difference]]:
    """Two passes of one scenario on the real services; the classified differences of the first from the fake."""
    mark = f"{FLAG_MARKS[LOYALTY_DISCOUNT]}{int(loyalty)}"
    first, second = Pass(targets, f"d.{mark}.a"), Pass(targets, f"d.{mark}.b")
    http = http_values(scenario.http)
    found: list[Difference] = []
    try:
        for call in scenario.calls:
            real, again = first.send(call), second.send(call)
            if not call.compared:
                continue

            def real_to_fake(value: object, one: Pass = first) -> object:
                return default_real_to_fake(one.to_fake(value) if isinstance(value, str) else value)

            found += classify(
                scenario.name,
                flag_label(loyalty),
                call.name,
                (call.status, call.response),
                (real.status, real.response),
                (again.status, _as_first(again.response, first, second)),
                http,
                real_to_fake,
            )
    finally:
        first.close()
        second.close()
    return len(scenario.calls), found


def _as_first(response: dict | None, first: Pass, second: Pass) -> dict | None:
    """The second pass's answer with its users and ids written as the first pass's, so they compare."""
    if response is None:
        return None
    own = {real: fake for fake, real in second.names.items()}

    def swap(value: object) -> object:
        if isinstance(value, dict):
            return {key: swap(child) for key, child in value.items()}
        if isinstance(value, list):
            return [swap(child) for child in value]
        if isinstance(value, str) and value in own:
            return first.names.get(own[value], value)
        return value

    return swap(response)


def drift(run_dir: Path, recording: Path | None = None, progress: Progress = lambda _line: None) -> DriftRun:
    """Record (unless given a recording), start real services, replay every scenario under every flag variant."""
    started = time.monotonic()
    if recording is None:
        progress("recording the gateway's functional tests on their fakes")
        recording = record(run_dir)
    scenarios = load(recording)
    progress(f"{len(scenarios)} scenarios recorded; starting the real services")
    lab = ExploreLab(run_dir, FLAG_MARKS, None)
    found = DriftRun(scenarios=len(scenarios))
    try:
        lab.start("redis", "cart", "pricing", "email")
        targets = {name: lab.target(name) for name in ("cart", "pricing", "email")}
        for loyalty in DOWNSTREAM_FLAGS[LOYALTY_DISCOUNT]:
            with ThreadPoolExecutor(max_workers=WORKERS) as pool:
                replay = functools.partial(replay_scenario, targets=targets, loyalty=loyalty)
                results = list(pool.map(replay, scenarios))
            found.calls += sum(count for count, _ in results)
            found.differences += [difference for _, differences in results for difference in differences]
            progress(f"replayed under {flag_label(loyalty)}")
    finally:
        lab.stop()
    found.seconds = time.monotonic() - started
    return found
