"""How a `purchase` control command waits for the lab to apply its change, and says how long it took."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from purchase_lab.acks import Applied

NO_WAIT_HELP = "return once the change is written, without waiting for every running process to apply it"
# Exit status when the change is written but some process has not applied it in time.
EXIT_NOT_APPLIED = 3


def add_no_wait(parser: argparse.ArgumentParser) -> None:
    """Give a control command its --no-wait option."""
    parser.add_argument("--no-wait", action="store_true", help=NO_WAIT_HELP)


def confirm(options: argparse.Namespace, waits: Sequence[tuple[str, Callable[[], Applied]]]) -> int:
    """Unless --no-wait, wait for each (what, wait) in turn and print how long it took; 3 when one is late."""
    if getattr(options, "no_wait", False):
        print("not waiting for the running processes to apply it (--no-wait)")
        return 0
    status = 0
    for what, wait in waits:
        applied = wait()
        if applied.complete:
            print(applied.summary(what) if applied.acknowledged else f"{what}: no running process to wait for")
        else:
            print(f"purchase: {applied.summary(what)}; see their logs", file=sys.stderr)
            status = EXIT_NOT_APPLIED
    return status
