"""`purchase explore` against real processes: today's checkout passes every single fault; a broken one is caught.

The single-fault matrix (every site, every fault, every flag combination and user kind) runs here, in
`make test`; pairs (`--depth 2`) run in `make explore-deep`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 900

pytestmark = [pytest.mark.integration, pytest.mark.timeout(3 * TIMEOUT_S)]
# The cell of the table broken on the scratch copy: pricing failing for an eligible user should ask
# them to retry (503); the broken copy charges them full price instead.
ELIGIBLE_BRANCH = "                if cart.discount_eligible:\n"


def explore(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "purchase_lab.cli", "explore", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


def test_todays_checkout_passes_every_single_fault_in_every_flag_combination(tmp_path: Path) -> None:
    done = explore(ROOT, "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["failed"] == 0
    assert report["fault_free_runs"] == 24
    assert len(report["call_sites"]) == 4
    # 24 users, 4 to 6 sites each, 4 or 5 faults per site: several hundred single-fault runs.
    assert report["single_fault_runs"] > 400
    assert report["runs_per_site_and_fault"]["email.SendDiscountEmail#1"]["LATENCY"]["runs"] > 0
    assert "0 failed" in done.stdout
    assert (tmp_path / "report.md").read_text().startswith("# Explore report")


@pytest.fixture
def broken_copy(tmp_path: Path) -> Path:
    """A scratch copy of the code where pricing's fallback charges an eligible user full price."""
    copy = tmp_path / "broken"
    for folder in ("purchase_lab", "services"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    checkout = copy / "services" / "gateway" / "checkout.py"
    text = checkout.read_text()
    assert text.count(ELIGIBLE_BRANCH) == 1, "the checkout changed: update the cell this test breaks"
    checkout.write_text(text.replace(ELIGIBLE_BRANCH, "                if False:\n"))
    return copy


def test_a_broken_cell_is_caught_named_and_replayed(broken_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    done = explore(broken_copy, "--fallbacks", "on", "--loyalty", "off", "--kind", "first-order", "--out", str(out))
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads((out / "report.json").read_text())
    failed = {tuple(fault["site"] for fault in failure["faults"]) for failure in report["failures"]}
    assert failed == {("pricing.GetAdjustment#1",)}
    faults = sorted(failure["faults"][0]["fault"] for failure in report["failures"])
    assert faults == sorted(["UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL", "LATENCY", "DOWN"])
    assert "FAILED UNAVAILABLE@pricing.GetAdjustment#1 | fallbacks=on loyalty=off | first-order" in done.stdout
    assert "answered 201, the table says 503" in done.stdout
    replay = next(f for f in report["failures"] if f["faults"][0]["fault"] == "INTERNAL")
    assert replay["replay_command"] == f"purchase explore --replay {replay['replay_file']}"

    again = explore(broken_copy, "--replay", replay["replay_file"], "--out", str(tmp_path / "replay"))
    assert again.returncode == 1, again.stdout + again.stderr
    assert "FAILED INTERNAL@pricing.GetAdjustment#1 | fallbacks=on loyalty=off | first-order" in again.stdout
    assert "answered 201, the table says 503" in again.stdout

    fixed = explore(ROOT, "--replay", replay["replay_file"], "--out", str(tmp_path / "fixed"))
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert fixed.stdout.startswith("PASSED")


def test_a_missing_replay_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    done = explore(ROOT, "--replay", str(tmp_path / "nothing.json"))
    assert done.returncode == 2
    assert "no replay file" in done.stderr
