"""What a drift check found: report.json, report.md and a terminal summary, differences grouped by field."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from purchase_lab.drift.compare import FAILING, Difference
from purchase_lab.drift.drift import DriftRun

KINDS = ("incompatible", "asserted", "http", "unobserved", "compatible")


def group(differences: list[Difference]) -> list[dict[str, Any]]:
    """One entry per (flags, call, field, class): how many scenarios showed it, one example."""
    grouped: dict[tuple[str, str, str, str, bool], list[Difference]] = defaultdict(list)
    for difference in differences:
        key = (difference.flags, difference.call, difference.path, difference.kind, difference.by_hand)
        grouped[key].append(difference)
    entries = []
    for (flags, call, path, kind, by_hand), found in grouped.items():
        first = found[0]
        entries.append(
            {
                "flags": flags,
                "call": call,
                "field": path,
                "class": kind,
                "why": first.why,
                "set_by_hand": by_hand,
                "scenarios": len({difference.scenario for difference in found}),
                "example": {"scenario": first.scenario, "fake": first.fake, "real": first.real},
            }
        )
    return sorted(entries, key=lambda entry: (KINDS.index(entry["class"]), entry["call"], entry["field"]))


def flag_only(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The differences that show under one variant of a downstream flag and not under the other."""
    seen: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for entry in entries:
        seen[(entry["call"], entry["field"], entry["class"])].add(entry["flags"])
    return [entry for entry in entries if len(seen[(entry["call"], entry["field"], entry["class"])]) == 1]


def summary(found: DriftRun) -> dict[str, Any]:
    """The report as JSON-ready data; scenarios that set a fake's state by hand are apart and never fail."""
    every = group(found.differences)
    entries = [entry for entry in every if not entry["set_by_hand"]]
    counts = {kind: sum(entry["class"] == kind for entry in entries) for kind in KINDS}
    return {
        "scenarios": found.scenarios,
        "calls_replayed": found.calls,
        "seconds": round(found.seconds, 1),
        "counts": counts,
        "failed": any(counts[kind] for kind in FAILING),
        "under_one_flag_variant": flag_only(entries),
        "differences": entries,
        "set_by_hand": [entry for entry in every if entry["set_by_hand"]],
    }


def write(found: DriftRun, out: Path) -> dict[str, Any]:
    """Write report.json and report.md into out; return the report."""
    report = summary(found)
    (out / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    (out / "report.md").write_text(markdown(report), encoding="utf-8")
    return report


def counts_line(report: dict[str, Any]) -> str:
    """Scenarios, calls and the count of differences per class."""
    counts = ", ".join(f"{report['counts'][kind]} {kind}" for kind in KINDS)
    return (
        f"{report['scenarios']} scenarios, {report['calls_replayed']} calls replayed on the real services "
        f"in {report['seconds']} s: {counts}"
    )


def line(entry: dict[str, Any]) -> str:
    """One difference as a line."""
    example = entry["example"]
    return (
        f"[{entry['class']}] {entry['flags']} {entry['call']} {entry['field']}: fake {example['fake']}, "
        f"real {example['real']} ({entry['why']}; {entry['scenarios']} scenarios, e.g. {example['scenario']})"
    )


def markdown(report: dict[str, Any]) -> str:
    """report.md: counts, the differences under one flag variant, then every difference by class."""
    lines = ["# Drift report", "", counts_line(report), ""]
    lines += ["## Only under one variant of a downstream flag", ""]
    lines += [f"- {line(entry)}" for entry in report["under_one_flag_variant"]] or ["- none"]
    for kind in KINDS:
        entries = [entry for entry in report["differences"] if entry["class"] == kind]
        lines += ["", f"## {kind} ({len(entries)})", ""]
        lines += [f"- {line(entry)}" for entry in entries] or ["- none"]
    lines += ["", f"## Scenarios that set a fake's state by hand (not counted: {len(report['set_by_hand'])})", ""]
    lines += [f"- {line(entry)}" for entry in report["set_by_hand"]] or ["- none"]
    return "\n".join(lines) + "\n"


def terminal(report: dict[str, Any]) -> str:
    """The summary printed at the end of `purchase drift`: counts, and every failing difference."""
    lines = [counts_line(report)]
    lines += [f"  flag-only: {line(entry)}" for entry in report["under_one_flag_variant"]]
    lines += [f"  {line(entry)}" for entry in report["differences"] if entry["class"] in FAILING]
    return "\n".join(lines)
