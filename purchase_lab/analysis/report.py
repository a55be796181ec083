"""One report format for every decision of the analysis engine: Markdown for people, JSON for tools."""

from __future__ import annotations

import json

from purchase_lab.analysis.compare import Decision


def to_json(decision: Decision) -> str:
    """The decision as indented JSON."""
    return json.dumps(decision.to_dict(), indent=2)


def to_markdown(decision: Decision, title: str = "Gate") -> str:
    """The decision as a Markdown section: the verdict, both cohorts, and a table of checks."""
    base, cand = decision.baseline, decision.candidate
    lines = [
        f"### {title}: {decision.verdict}",
        "",
        f"Window {decision.window_seconds:.0f} s. {cand.name}: {cand.calls} calls, {cand.errors} failed; "
        f"{base.name}: {base.calls} calls, {base.errors} failed.",
        "",
        f"| metric | {base.name} | {cand.name} | threshold | verdict |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {check.metric} | {check.baseline:.4g} | {check.candidate:.4g} | {check.threshold} | {check.verdict} |"
        for check in decision.checks
    ]
    return "\n".join(lines) + "\n"
