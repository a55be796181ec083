"""The analysis engine's statistics on known inputs, and its one report format."""

from __future__ import annotations

import json
import math

import pytest

from purchase_lab.analysis import Cohort, Thresholds, compare, to_json, to_markdown, two_proportion_z

pytestmark = pytest.mark.unit


def test_two_proportion_z_matches_a_hand_computation() -> None:
    # 10/100 vs 20/100: pooled 0.15, spread sqrt(0.15 * 0.85 * 0.02) = 0.050498, z = 0.1 / 0.050498.
    assert two_proportion_z(10, 100, 20, 100) == pytest.approx(1.98030, abs=1e-4)
    assert two_proportion_z(20, 100, 10, 100) == pytest.approx(-1.98030, abs=1e-4)
    assert two_proportion_z(0, 50, 0, 50) == 0.0
    assert two_proportion_z(0, 0, 3, 10) == 0.0


def test_the_critical_value_is_the_normal_quantile() -> None:
    assert Thresholds(confidence=0.95).z_critical == pytest.approx(1.6449, abs=1e-3)
    assert Thresholds(confidence=0.99).z_critical == pytest.approx(2.3263, abs=1e-3)
    assert not math.isnan(Thresholds(confidence=0.5).z_critical)


def test_a_candidate_failing_a_quarter_of_its_calls_fails_the_error_rate_gate() -> None:
    decision = compare(Cohort("baseline", 60, 0, 0.3), Cohort("canary", 40, 10, 0.2), 20)
    assert decision.verdict == "fail"
    [failed] = decision.failed
    assert failed.metric == "error_rate"
    assert (failed.baseline, failed.candidate) == (0.0, 0.25)
    assert "25.0% (10/40)" in decision.summary()
    assert "0.0% (0/60)" in decision.summary()
    assert "95% one-sided" in failed.threshold


def test_a_difference_the_test_cannot_tell_from_chance_passes() -> None:
    # 1/30 vs 0/60: z = 1.42, below 1.645.
    decision = compare(Cohort("baseline", 60, 0, 0.3), Cohort("canary", 30, 1, 0.15), 20)
    assert decision.verdict == "pass"


def test_a_slower_candidate_fails_the_latency_gate() -> None:
    decision = compare(Cohort("baseline", 100, 0, 1.0), Cohort("canary", 100, 0, 3.0), 20)
    assert [check.metric for check in decision.failed] == ["mean_latency"]
    assert "30.0 ms vs baseline 10.0 ms" in decision.summary()


def test_too_little_traffic_waits_and_says_how_much_was_seen() -> None:
    decision = compare(Cohort("baseline", 50, 0, 0.2), Cohort("canary", 3, 3, 0.01), 20, Thresholds(min_calls=20))
    assert decision.verdict == "wait"
    assert "too little traffic: the canary served 3 calls and the baseline 50" in decision.summary()


def test_one_report_format_markdown_and_json() -> None:
    decision = compare(Cohort("baseline", 60, 0, 0.3), Cohort("canary", 40, 10, 0.2), 20)
    markdown = to_markdown(decision, "Canary pricing 1.1")
    assert markdown.startswith("### Canary pricing 1.1: fail")
    assert "| error_rate | 0 | 0.25 |" in markdown
    data = json.loads(to_json(decision))
    assert data["verdict"] == "fail"
    assert data["candidate"]["error_rate"] == 0.25
    assert [check["metric"] for check in data["checks"]] == ["error_rate", "mean_latency"]
