"""`purchase explore`: every fault at every call site of the checkout, checked against the checkout table.

See docs/explore.md. A lab is started for the run on free ports and stopped afterwards; the report
goes under <run dir>/explore/<time>/ unless --out says where.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from purchase_lab.config import run_dir
from purchase_lab.explore.space import FLAG_COMBOS, USER_KINDS

KIND_LABELS = tuple(kind.label for kind in USER_KINDS)

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def register(commands: argparse._SubParsersAction) -> None:
    """Add `purchase explore`."""
    explore = commands.add_parser(
        "explore",
        help="fault every call site of the checkout under every flag combination and user kind; check the table",
        description="Start a lab, record the checkout's call sites fault-free, then run each site with each fault "
        "(and, with --depth 2, pairs that stay reachable) for every flag combination and user kind, checking each "
        "run's answer and state against the checkout table. Exits 1 when any run fails.",
    )
    explore.add_argument("--depth", type=int, choices=(1, 2), default=1, help="1: single faults; 2: pairs too")
    explore.add_argument("--out", type=Path, help="report directory (default: <run dir>/explore/<time>)")
    explore.add_argument("--replay", type=Path, metavar="FILE", help="run one failure's replay file again")
    explore.add_argument("--fallbacks", choices=("on", "off"), help="only this variant of checkout.fallbacks")
    explore.add_argument("--loyalty", choices=("on", "off"), help="only this variant of pricing.loyalty_discount")
    explore.add_argument(
        "--kind",
        action="append",
        choices=KIND_LABELS,
        metavar="KIND",
        help=f"only this user kind (repeat for more): {', '.join(KIND_LABELS)}",
    )
    explore.set_defaults(run=run_explore)


def run_explore(options: argparse.Namespace) -> int:
    """Explore, or replay one failure; 0 when every run passed."""
    from purchase_lab.explore import explore as exploration
    from purchase_lab.explore import report

    out = options.out or run_dir() / "explore" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if options.replay is not None:
        if not options.replay.is_file():
            print(f"purchase: no replay file at {options.replay}; give one a report lists", file=sys.stderr)
            return EXIT_BAD_INPUT
        try:
            run = exploration.replay(options.replay, out)
        except (ValueError, KeyError) as error:
            print(
                f"purchase: {options.replay} is not a replay file ({error}); give one a report lists", file=sys.stderr
            )
            return EXIT_BAD_INPUT
        print(report.replay_verdict(run))
        return 0 if run.passed else EXIT_FAILED
    flags = tuple(
        combo
        for combo in FLAG_COMBOS
        if options.fallbacks in (None, "on" if combo.fallbacks else "off")
        and options.loyalty in (None, "on" if combo.loyalty else "off")
    )
    kinds = tuple(kind for kind in USER_KINDS if not options.kind or kind.label in options.kind)
    found = exploration.explore(
        out, depth=options.depth, flags=flags, kinds=kinds, progress=lambda line: print(f"explore: {line}", flush=True)
    )
    written = report.write(found, out)
    print(report.terminal(written))
    print(f"report: {out / 'report.md'}")
    return 0 if not found.failures else EXIT_FAILED
