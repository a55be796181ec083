"""`purchase drift`: the gateway's contract fakes against the real services, differences classified.

Run from a clone of the repository (it runs tests/gateway's functional tests to record the fakes).
See docs/drift.md. The report goes under <run dir>/drift/<time>/ unless --out says where.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from purchase_lab.config import run_dir

EXIT_DRIFT = 1
EXIT_BAD_INPUT = 2


def register(commands: argparse._SubParsersAction) -> None:
    """Add `purchase drift`."""
    drift = commands.add_parser(
        "drift",
        help="record what the gateway's contract fakes answer, replay it on the real services, classify the diff",
        description="Run the gateway's functional tests recording each fake's answers, start the real cart, "
        "pricing and email, replay every scenario's calls under each variant of the downstream flags (twice, to "
        "learn what varies anyway), and classify each difference. Exits 1 on incompatible or asserted drift.",
    )
    drift.add_argument("--out", type=Path, help="report directory (default: <run dir>/drift/<time>)")
    drift.add_argument("--recording", type=Path, metavar="FILE", help="replay this recording instead of recording")
    drift.add_argument("--tests", type=Path, help="the functional tests to record (default: tests/gateway)")
    drift.set_defaults(run=run_drift)


def run_drift(options: argparse.Namespace) -> int:
    """Record, replay, classify, report; 0 when no difference is incompatible or asserted."""
    from purchase_lab.drift import drift, report

    out = options.out or run_dir() / "drift" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    recording = options.recording
    if recording is not None and not recording.is_file():
        print(f"purchase: no recording at {recording}; leave out --recording to record one", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        if recording is None:
            recording = drift.record(out, options.tests) if options.tests else drift.record(out)
        found = drift.drift(out, recording, progress=lambda line: print(f"drift: {line}", flush=True))
    except drift.RecordingFailed as error:
        print(f"purchase: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    written = report.write(found, out)
    print(report.terminal(written))
    print(f"report: {out / 'report.md'}")
    return EXIT_DRIFT if written["failed"] else 0
