"""The run's summary, from its journal and chaos events: the numbers a student reasons about.

Checkouts per second, latency percentiles, the share of checkouts that were degraded (and how),
errors by kind (status and error code), and for every stretch of the run between two chaos events
the error and degradation rates that the faults active then caused. Written as summary.json and
summary.md beside locust's own CSV and HTML.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from loadtest.journal import Record

PERCENTILES = (50, 90, 99)
TOP_ERRORS = 3


def percentiles(values: Iterable[float]) -> dict[str, float]:
    """p50, p90, p99 and max by nearest rank, in the values' unit; empty when there are none."""
    ordered = sorted(values)
    if not ordered:
        return {}
    ranks = {f"p{p}": ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] for p in PERCENTILES}
    return {**ranks, "max": ordered[-1]}


def share(part: int, whole: int) -> float:
    """part / whole as a fraction rounded to 4 places; 0 when whole is 0."""
    return round(part / whole, 4) if whole else 0.0


def checkout_numbers(records: Sequence[Record], elapsed_s: float) -> dict[str, Any]:
    """Attempts, checkouts (one per Idempotency-Key), placed, per second, latency, degradations, emails."""
    attempts = [record for record in records if record.is_checkout]
    last_attempt: dict[str, Record] = {}
    for record in attempts:
        last_attempt[record.key] = record
    placed = [record for record in last_attempt.values() if record.ok]
    degraded = [record for record in placed if record.degraded]
    return {
        "attempts": len(attempts),
        "checkouts": len(last_attempt),
        "placed": len(placed),
        "failed": len(last_attempt) - len(placed),
        "retried": sum(1 for record in last_attempt.values() if record.attempt > 1),
        "per_second": round(len(placed) / elapsed_s, 2) if elapsed_s else 0.0,
        "latency_ms": percentiles(record.ms for record in attempts),
        "degraded_share": share(len(degraded), len(placed)),
        "degraded": dict(Counter(item for record in placed for item in record.degraded).most_common()),
        "email": dict(Counter(record.email for record in placed).most_common()),
    }


def error_kinds(records: Iterable[Record]) -> list[dict[str, Any]]:
    """Every failed answer, counted by endpoint and kind, most frequent first."""
    counts = Counter((record.method, record.endpoint, record.kind) for record in records if not record.ok)
    return [
        {"method": method, "endpoint": endpoint, "kind": kind, "count": count}
        for (method, endpoint, kind), count in counts.most_common()
    ]


def stretches(events: Sequence[Mapping[str, Any]], elapsed_s: float) -> list[tuple[float, float, tuple[str, ...]]]:
    """The run cut at every chaos event: (start, end, scenarios active in between)."""
    cuts: list[tuple[float, float, tuple[str, ...]]] = []
    active: list[str] = []
    start = 0.0
    for event in sorted(events, key=lambda event: event["t"]):
        if event["t"] > start:
            cuts.append((start, event["t"], tuple(active)))
            start = event["t"]
        if event["action"] == "inject":
            active.append(event["scenario"])
        elif event["scenario"] in active:
            active.remove(event["scenario"])
    cuts.append((start, max(start, elapsed_s), tuple(active)))
    return cuts


def window_numbers(records: Sequence[Record], start: float, end: float, faults: tuple[str, ...]) -> dict[str, Any]:
    """The error and degradation rates of requests that started between start and end."""
    inside = [record for record in records if start <= record.t < end]
    attempts = [record for record in inside if record.is_checkout]
    placed = [record for record in attempts if record.ok]
    return {
        "start_s": round(start, 1),
        "end_s": round(end, 1),
        "faults": list(faults),
        "requests": len(inside),
        "error_rate": share(sum(1 for record in inside if not record.ok), len(inside)),
        "checkout_attempts": len(attempts),
        "checkout_error_rate": share(len(attempts) - len(placed), len(attempts)),
        "degraded_share": share(sum(1 for record in placed if record.degraded), len(placed)),
        "top_errors": [
            f"{error['method']} {error['endpoint']} {error['kind']} x{error['count']}"
            for error in error_kinds(inside)[:TOP_ERRORS]
        ],
    }


def summarise(records: Sequence[Record], events: Sequence[Mapping[str, Any]], run: Mapping[str, Any]) -> dict:
    """The whole summary of a run; `run` describes it (shape, users, elapsed_s, chaos, seed, ...)."""
    elapsed_s = float(run["elapsed_s"])
    failed = sum(1 for record in records if not record.ok)
    cohorts = Counter(record.cohort for record in records)
    return {
        "run": dict(run),
        "requests": {
            "total": len(records),
            "failed": failed,
            "error_rate": share(failed, len(records)),
            "per_second": round(len(records) / elapsed_s, 2) if elapsed_s else 0.0,
            "latency_ms": percentiles(record.ms for record in records),
            "by_cohort": dict(cohorts.most_common()),
        },
        "checkouts": checkout_numbers(records, elapsed_s),
        "errors": error_kinds(records),
        "chaos": {
            "events": list(events),
            "windows": [window_numbers(records, *cut) for cut in stretches(events, elapsed_s)],
        },
    }


def write_summary(directory: Path, summary: Mapping[str, Any]) -> None:
    """Write summary.json and summary.md into the run's directory."""
    (directory / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (directory / "summary.md").write_text(render_markdown(summary), encoding="utf-8")


def _latency(numbers: Mapping[str, float]) -> str:
    return " / ".join(f"{numbers[key]:.0f}" for key in ("p50", "p90", "p99", "max")) if numbers else "-"


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.1f}%"


def render_markdown(summary: Mapping[str, Any]) -> str:
    """The summary as a page a person reads: the headline numbers, then errors, chaos and invariants."""
    run, requests, checkouts = summary["run"], summary["requests"], summary["checkouts"]
    lines = [
        f"# Load run {run.get('started_at', '')}",
        "",
        f"{run['shape']} shape, {run['users']} users at most, {run['elapsed_s']:.0f} s against {run['host']}, "
        f"chaos {run['chaos']} (seed {run['seed']})."
        + (" Cut short: the numbers cover only part of the run." if run.get("cut_short") else ""),
        "",
        "| | |",
        "|---|---|",
        f"| checkouts placed per second | {checkouts['per_second']} |",
        f"| checkouts placed / failed | {checkouts['placed']} / {checkouts['failed']} "
        f"({checkouts['attempts']} attempts, {checkouts['retried']} retried) |",
        f"| checkout latency p50 / p90 / p99 / max (ms) | {_latency(checkouts['latency_ms'])} |",
        f"| degraded checkouts | {_percent(checkouts['degraded_share'])}{_counts(checkouts['degraded'])} |",
        f"| emails of placed orders | {_counts(checkouts['email']).removeprefix(': ') or '-'} |",
        f"| requests per second | {requests['per_second']} ({requests['total']} requests) |",
        f"| request latency p50 / p90 / p99 / max (ms) | {_latency(requests['latency_ms'])} |",
        f"| failed requests | {_percent(requests['error_rate'])} |",
        "",
        *_errors_section(summary["errors"]),
        *_chaos_section(summary["chaos"]),
        *_invariants_section(summary.get("invariants")),
    ]
    return "\n".join(lines) + "\n"


def _counts(counts: Mapping[str, int]) -> str:
    """`: a 3, b 1`, or nothing when there are no counts."""
    return ": " + ", ".join(f"{name} {count}" for name, count in counts.items()) if counts else ""


def _errors_section(errors: Sequence[Mapping[str, Any]]) -> list[str]:
    if not errors:
        return ["## Errors", "", "None.", ""]
    rows = [f"| {e['method']} {e['endpoint']} | {e['kind']} | {e['count']} |" for e in errors]
    return ["## Errors by kind", "", "| request | status and code | count |", "|---|---|---|", *rows, ""]


def _chaos_section(chaos: Mapping[str, Any]) -> list[str]:
    events = [
        f"- {e['t']:.1f} s: {e['action']} {e['scenario']} {' '.join(e['rules'])}"
        + (f" ({e['problem']})" if e.get("problem") else "")
        for e in chaos["events"]
    ]
    lines = [
        "## Chaos",
        "",
        *(events or ["No faults were injected."]),
        "",
        "| from (s) | to (s) | faults | requests | errors | checkout errors | degraded | top errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for w in chaos["windows"]:
        faults = ", ".join(w["faults"]) or "none"
        lines.append(
            f"| {w['start_s']} | {w['end_s']} | {faults} | {w['requests']} | {_percent(w['error_rate'])} | "
            f"{_percent(w['checkout_error_rate'])} | {_percent(w['degraded_share'])} | {'; '.join(w['top_errors'])} |"
        )
    return [*lines, ""]


def _invariants_section(invariants: Mapping[str, Any] | None) -> list[str]:
    if invariants is None:
        return ["## Invariants", "", "Not checked.", ""]
    verdict = "hold" if invariants["ok"] else "are VIOLATED"
    lines = ["## Invariants", "", f"The invariants {verdict}.", ""]
    lines += [f"- {name.replace('_', ' ')}: {value}" for name, value in invariants["counts"].items()]
    lines += [f"- VIOLATION {v['kind']} for {v['user']}: {v['detail']}" for v in invariants["violations"]]
    return [*lines, ""]
