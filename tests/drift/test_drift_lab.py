"""`purchase drift` end to end: it records the functional tests, replays them on real services, classifies.

Each run records one test module only (test_checkout.py), to stay short; `make drift` records them all.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 600
MODULE = Path("tests/gateway/test_checkout.py")
# The contract field the scratch copy's fake drops: the gateway reads the adjustment's amount.
FULL_ANSWER = "return pricing_pb2.GetAdjustmentResponse(amount=money(amount), reason=reason)"

CLASSES = {"incompatible", "asserted", "http", "unobserved", "compatible"}

pytestmark = [pytest.mark.integration, pytest.mark.timeout(2 * TIMEOUT_S)]


def drift(root: Path, out: Path) -> tuple[subprocess.CompletedProcess[str], dict]:
    command = [sys.executable, "-m", "purchase_lab.cli", "drift", "--tests", str(root / MODULE), "--out", str(out)]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    report = out / "report.json"
    assert report.exists(), done.stdout + done.stderr
    return done, json.loads(report.read_text())


def test_the_loyalty_flag_changes_what_pricing_answers_and_drift_says_so(tmp_path: Path) -> None:
    done, report = drift(ROOT, tmp_path)
    flag_only = report["under_one_flag_variant"]
    assert flag_only, done.stdout
    assert {entry["flags"] for entry in flag_only} == {"loyalty=on"}
    assert any(entry["call"] == "pricing.GetAdjustment" for entry in flag_only)
    assert all(entry["class"] in CLASSES for entry in flag_only)
    # Pricing's loyalty discount fails for a Home product (docs/instructors/loyalty-defect.md): a status
    # the fake never answers, so the check fails until it is fixed.
    assert done.returncode == 1
    assert "flag-only: [incompatible] loyalty=on pricing.GetAdjustment (status)" in done.stdout


@pytest.fixture
def fake_without_a_field(tmp_path: Path) -> Path:
    """A scratch copy whose pricing fake leaves the adjustment's amount out of its answer."""
    copy = tmp_path / "copy"
    for folder in ("purchase_lab", "services", "tests"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    fakes = copy / "tests" / "gateway" / "fakes.py"
    text = fakes.read_text()
    assert text.count(FULL_ANSWER) == 1, "the pricing fake changed: update the field this test drops"
    fakes.write_text(text.replace(FULL_ANSWER, "return pricing_pb2.GetAdjustmentResponse(reason=reason)"))
    return copy


def test_a_fake_that_drops_a_field_the_gateway_reads_fails_the_check(
    fake_without_a_field: Path, tmp_path: Path
) -> None:
    done, report = drift(fake_without_a_field, tmp_path / "report")
    assert done.returncode == 1, done.stdout + done.stderr
    dropped = [
        entry
        for entry in report["differences"]
        if entry["call"] == "pricing.GetAdjustment" and entry["field"].startswith("amount")
    ]
    assert dropped
    assert {entry["class"] for entry in dropped} == {"incompatible"}
    assert {entry["flags"] for entry in dropped} == {"loyalty=on", "loyalty=off"}
    assert all(entry["why"] == "the fake lacks a field the gateway reads" for entry in dropped)
