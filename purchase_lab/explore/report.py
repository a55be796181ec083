"""What an exploration found: a terminal summary, report.md and report.json, and a replay file per failure."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from purchase_lab.explore.explore import Exploration
from purchase_lab.explore.runner import Run
from purchase_lab.explore.space import FAULTS


def replay_command(path: Path) -> str:
    """The command that runs a failure again."""
    return f"purchase explore --replay {path}"


def summary(found: Exploration, replays: dict[int, Path]) -> dict[str, Any]:
    """The report as JSON-ready data."""
    sites: dict[str, dict[str, list[str]]] = defaultdict(dict)
    for run in found.fault_free:
        sites[run.case.flags.label][run.case.kind.label] = [site.label for site in run.calls]
    by_site: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: {"runs": 0, "failed": 0}))
    for run in found.single:
        (injection,) = run.case.faults
        cell = by_site[injection.site.label][injection.fault]
        cell["runs"] += 1
        cell["failed"] += not run.passed
    failures = [
        {
            "label": run.case.label,
            **run.case.to_dict(),
            "problems": run.problems,
            "replay_file": str(replays[id(run)]),
            "replay_command": replay_command(replays[id(run)]),
        }
        for run in found.failures
    ]
    return {
        "depth": found.depth,
        "seconds": round(found.seconds, 1),
        "runs": len(found.runs),
        "passed": len(found.runs) - len(found.failures),
        "failed": len(found.failures),
        "fault_free_runs": len(found.fault_free),
        "single_fault_runs": len(found.single),
        "pair_runs": len(found.pairs),
        "pairs_without_reduction": found.pairs_without_reduction,
        "pairs_saved_by_reduction": max(found.pairs_without_reduction - len(found.pairs), 0),
        "call_sites": sites,
        "runs_per_site_and_fault": by_site,
        "failures": failures,
    }


def write(found: Exploration, run_dir: Path) -> dict[str, Any]:
    """Write the replay files, report.json and report.md under run_dir; return the report."""
    replays: dict[int, Path] = {}
    for number, run in enumerate(found.failures, 1):
        path = run_dir / "replays" / f"failure-{number:03d}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(run.to_dict(), indent=2), encoding="utf-8")
        replays[id(run)] = path
    report = summary(found, replays)
    (run_dir / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    (run_dir / "report.md").write_text(markdown(report), encoding="utf-8")
    return report


def counts_line(report: dict[str, Any]) -> str:
    """One line of counts, as the terminal and report.md give them."""
    line = (
        f"{report['runs']} runs ({report['fault_free_runs']} fault-free, {report['single_fault_runs']} single faults"
        + (f", {report['pair_runs']} pairs" if report["depth"] >= 2 else "")
        + f"): {report['passed']} passed, {report['failed']} failed in {report['seconds']} s"
    )
    if report["depth"] >= 2:
        line += (
            f"; pairs with reduction {report['pair_runs']}, without {report['pairs_without_reduction']} "
            f"(saved {report['pairs_saved_by_reduction']})"
        )
    return line


def markdown(report: dict[str, Any]) -> str:
    """report.md: counts, call sites per flag combination, runs per site and fault, each failure."""
    lines = ["# Explore report", "", counts_line(report), "", "## Call sites (fault-free checkout)", ""]
    for combo, kinds in report["call_sites"].items():
        lines.append(f"### {combo}")
        lines += [f"- {kind}: {' → '.join(sites)}" for kind, sites in kinds.items()]
        lines.append("")
    lines += ["## Single-fault runs per site and fault (failed / runs)", ""]
    lines.append("| site | " + " | ".join(FAULTS) + " |")
    lines.append("|---" * (len(FAULTS) + 1) + "|")
    for site, faults in report["runs_per_site_and_fault"].items():
        cells = [f"{faults[f]['failed']} / {faults[f]['runs']}" if f in faults else "n/a" for f in FAULTS]
        lines.append(f"| {site} | " + " | ".join(cells) + " |")
    lines += ["", f"## Failures ({report['failed']})", ""]
    for failure in report["failures"]:
        lines.append(f"### {failure['label']}")
        lines += [f"- {problem}" for problem in failure["problems"]]
        lines += [f"- replay: `{failure['replay_command']}`", ""]
    return "\n".join(lines) + "\n"


def terminal(report: dict[str, Any]) -> str:
    """The summary printed at the end of `purchase explore`."""
    lines = [counts_line(report)]
    for combo, kinds in report["call_sites"].items():
        counts = sorted({len(sites) for sites in kinds.values()})
        lines.append(
            f"  call sites, {combo}: {' to '.join(str(count) for count in (counts[0], counts[-1]))} per checkout"
        )
    for failure in report["failures"]:
        lines.append(f"FAILED {failure['label']}")
        lines += [f"  {problem}" for problem in failure["problems"]]
        lines.append(f"  replay: {failure['replay_command']}")
    return "\n".join(lines)


def replay_verdict(run: Run) -> str:
    """What a replay printed: the case and whether it still fails."""
    lines = [f"{'PASSED' if run.passed else 'FAILED'} {run.case.label}"]
    lines += [f"  {problem}" for problem in run.problems]
    return "\n".join(lines)
