"""Compare a candidate cohort with its baseline: error rate by a two-proportion test, latency by a ratio.

The verdict is one of three: pass, fail, or wait (too few calls on a side to say anything yet). A caller
that runs out of time while told to wait must fail, never promote: no evidence is not good evidence.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

PASS, FAIL, WAIT = "pass", "fail", "wait"


@dataclass(frozen=True)
class Cohort:
    """What one cohort's calls did over the window: how many, how many failed, their total seconds."""

    name: str
    calls: int
    errors: int
    seconds: float

    @property
    def error_rate(self) -> float:
        """Failed calls over calls; 0 with no calls."""
        return self.errors / self.calls if self.calls else 0.0

    @property
    def mean_latency(self) -> float:
        """Mean seconds per call; 0 with no calls."""
        return self.seconds / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class Thresholds:
    """When a candidate fails: the test's confidence, the latency it may add, the calls needed per side."""

    confidence: float = 0.95
    # A difference in error rate smaller than this is never a failure, however many calls show it.
    error_margin: float = 0.01
    latency_ratio: float = 1.5
    # Added to the allowed latency so that sub-millisecond noise between two fast cohorts is no failure.
    latency_slack_seconds: float = 0.005
    min_calls: int = 20

    @property
    def z_critical(self) -> float:
        """The one-sided critical z value of the confidence, from the normal distribution's inverse."""
        return _normal_quantile(self.confidence)


@dataclass(frozen=True)
class GateCheck:
    """One metric's verdict: both readings, the threshold, and what it means."""

    metric: str
    verdict: str
    baseline: float
    candidate: float
    threshold: str
    detail: str


@dataclass(frozen=True)
class Decision:
    """The comparison's outcome: pass only when every check passed, wait while a side lacks calls."""

    verdict: str
    baseline: Cohort
    candidate: Cohort
    window_seconds: float
    checks: tuple[GateCheck, ...] = field(default_factory=tuple)

    @property
    def failed(self) -> list[GateCheck]:
        """The checks that failed."""
        return [check for check in self.checks if check.verdict == FAIL]

    def summary(self) -> str:
        """One line: the verdict and, on failure or wait, each failing check with both readings."""
        if self.verdict == PASS:
            return f"gate passed: {'; '.join(check.detail for check in self.checks)}"
        return f"gate {'failed' if self.verdict == FAIL else 'waiting'}: " + "; ".join(
            check.detail for check in self.checks if check.verdict != PASS
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data with both cohorts and every check."""
        return {
            "verdict": self.verdict,
            "window_seconds": self.window_seconds,
            "baseline": {**asdict(self.baseline), "error_rate": self.baseline.error_rate},
            "candidate": {**asdict(self.candidate), "error_rate": self.candidate.error_rate},
            "checks": [asdict(check) for check in self.checks],
        }


def two_proportion_z(errors_a: int, calls_a: int, errors_b: int, calls_b: int) -> float:
    """The z statistic of B's failure rate above A's, with the pooled standard error; 0 when undefined."""
    if not calls_a or not calls_b:
        return 0.0
    pooled = (errors_a + errors_b) / (calls_a + calls_b)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / calls_a + 1 / calls_b))
    if spread == 0:
        return 0.0
    return (errors_b / calls_b - errors_a / calls_a) / spread


def compare(
    baseline: Cohort, candidate: Cohort, window_seconds: float, thresholds: Thresholds = Thresholds()
) -> Decision:
    """Judge the candidate against the baseline over one window."""
    if min(baseline.calls, candidate.calls) < thresholds.min_calls:
        check = GateCheck(
            "traffic",
            WAIT,
            baseline.calls,
            candidate.calls,
            f">= {thresholds.min_calls} calls each",
            f"too little traffic: the {candidate.name} served {candidate.calls} calls and the {baseline.name} "
            f"{baseline.calls} in {window_seconds:.0f} s; {thresholds.min_calls} each are needed to judge",
        )
        return Decision(WAIT, baseline, candidate, window_seconds, (check,))
    checks = (_error_rate(baseline, candidate, thresholds), _latency(baseline, candidate, thresholds))
    verdict = FAIL if any(check.verdict == FAIL for check in checks) else PASS
    return Decision(verdict, baseline, candidate, window_seconds, checks)


def _error_rate(baseline: Cohort, candidate: Cohort, thresholds: Thresholds) -> GateCheck:
    z = two_proportion_z(baseline.errors, baseline.calls, candidate.errors, candidate.calls)
    worse = candidate.error_rate - baseline.error_rate > thresholds.error_margin and z > thresholds.z_critical
    readings = (
        f"error rate {candidate.name} {candidate.error_rate:.1%} ({candidate.errors}/{candidate.calls}) vs "
        f"{baseline.name} {baseline.error_rate:.1%} ({baseline.errors}/{baseline.calls}), z = {z:.2f}"
    )
    threshold = (
        f"z <= {thresholds.z_critical:.3f} ({thresholds.confidence:.0%} one-sided) "
        f"or a gap <= {thresholds.error_margin:.0%}"
    )
    return GateCheck(
        "error_rate",
        FAIL if worse else PASS,
        baseline.error_rate,
        candidate.error_rate,
        threshold,
        f"{readings} ({'above' if worse else 'within'} {threshold})",
    )


def _latency(baseline: Cohort, candidate: Cohort, thresholds: Thresholds) -> GateCheck:
    allowed = baseline.mean_latency * thresholds.latency_ratio + thresholds.latency_slack_seconds
    slower = candidate.mean_latency > allowed
    threshold = f"<= {thresholds.latency_ratio} x baseline + {thresholds.latency_slack_seconds * 1000:.0f} ms"
    return GateCheck(
        "mean_latency",
        FAIL if slower else PASS,
        baseline.mean_latency,
        candidate.mean_latency,
        threshold,
        f"mean latency {candidate.name} {candidate.mean_latency * 1000:.1f} ms vs {baseline.name} "
        f"{baseline.mean_latency * 1000:.1f} ms ({'above' if slower else 'within'} {allowed * 1000:.1f} ms allowed)",
    )


def _normal_quantile(probability: float) -> float:
    """The standard normal distribution's inverse CDF, by bisection on math.erf (exact enough for gates)."""
    low, high = -10.0, 10.0
    for _ in range(100):
        middle = (low + high) / 2
        if 0.5 * (1 + math.erf(middle / math.sqrt(2))) < probability:
            low = middle
        else:
            high = middle
    return (low + high) / 2
