"""One analysis engine: compare a candidate cohort with its baseline over the same window, and decide.

Used by a deploy's gates (new release vs old replicas) and meant for a rollout plan's steps (flag treatment
vs control users): it knows cohorts and readings, nothing about deploys or flags.
"""

from purchase_lab.analysis.compare import (
    FAIL,
    PASS,
    WAIT,
    Cohort,
    Decision,
    GateCheck,
    Thresholds,
    compare,
    two_proportion_z,
)
from purchase_lab.analysis.report import to_json, to_markdown

__all__ = [
    "FAIL",
    "PASS",
    "WAIT",
    "Cohort",
    "Decision",
    "GateCheck",
    "Thresholds",
    "compare",
    "to_json",
    "to_markdown",
    "two_proportion_z",
]
