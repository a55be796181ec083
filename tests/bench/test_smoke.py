"""The bench's CI smoke: `python -m bench --quick` runs end to end and writes valid JSON with every figure.

Benchmarks are not timed tests: nothing here looks at how fast anything was.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.report import EXPECTED, JSON_NAME, MARKDOWN_NAME, SCHEMA, missing_keys

ROOT = Path(__file__).resolve().parents[2]
# Generous: the quick run takes about half a minute on an idle two-core machine, CI may be busier.
RUN_TIMEOUT_S = 280

# Whichever test runs first pays for the shared run, so each may take as long as the run.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(RUN_TIMEOUT_S + 20)]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One quick bench run, its output directory, shared by the tests below."""
    out = tmp_path_factory.mktemp("bench")
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    return finished, out


@pytest.fixture(scope="module")
def result(quick_run: tuple[subprocess.CompletedProcess[str], Path]) -> dict[str, Any]:
    """The JSON the quick run wrote."""
    finished, out = quick_run
    assert finished.returncode == 0, f"the bench failed:\n{finished.stderr[-4000:]}"
    return json.loads((out / JSON_NAME).read_text(encoding="utf-8"))


def test_the_quick_run_writes_every_section_and_figure(result: dict[str, Any]) -> None:
    assert result["schema"] == SCHEMA
    assert result["mode"] == "quick"
    assert missing_keys(result) == []
    assert set(EXPECTED) <= set(result)


def test_each_headline_figure_is_a_number(result: dict[str, Any]) -> None:
    checkout, floor, layers = result["checkout"], result["floor"], result["layers"]
    headline = {
        "floor http p50": floor["round_trips_us"]["http"]["p50_us"],
        "floor grpc p50": floor["round_trips_us"]["grpc"]["p50_us"],
        "floor redis p50": floor["round_trips_us"]["redis_get"]["p50_us"],
        "returning floor": floor["checkout_floor_ms"]["returning"],
        "checkout p50": checkout["returning_c1"]["p50_ms"],
        "checkout p99": checkout["returning_c1"]["p99_ms"],
        "checkout / floor": checkout["ratio_p50_to_floor"]["returning"],
        "throughput": checkout["throughput"]["checkouts_per_s"],
        "telemetry ratio": layers["telemetry"]["ratio_p50"],
        "fault layer ratio": layers["faults"]["grpc_server_interceptor"]["ratio_p50"],
        "flag evaluation": layers["flags"]["per_call_us"],
        "email down p99": result["degraded"]["email_down"]["p99_ms"],
        "pricing slow p99": result["degraded"]["pricing_slow"]["breaker_closed"]["p99_ms"],
        "memory": result["footprint"]["telemetry_on"]["memory_after_load"]["total_rss_mib"],
        "start time": result["footprint"]["telemetry_on"]["start_to_all_healthy_s"],
        "flag change": result["control_plane"]["flag_change"]["max_ms"],
        "fault rule": result["control_plane"]["fault_rule"]["max_ms"],
    }
    not_numbers = {name: value for name, value in headline.items() if not isinstance(value, int | float)}
    assert not_numbers == {}


def test_the_happy_checkouts_all_succeeded(result: dict[str, Any]) -> None:
    assert result["checkout"]["returning_c1"]["failures"] == {}
    assert result["checkout"]["first_order_c1"]["failures"] == {}


def test_the_table_is_written_and_printed(quick_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    finished, out = quick_run
    table = (out / MARKDOWN_NAME).read_text(encoding="utf-8")
    assert "| figure | value |" in table
    assert "checkout p50 / floor" in table
    assert "| figure | value |" in finished.stdout
