"""`purchase reset`: put the whole lab back to its committed defaults (flags as in git, no faults)."""

from __future__ import annotations

import argparse
import sys

from purchase_lab.flags import FlagError
from purchase_lab.lab_reset import reset_lab


def register(commands: argparse._SubParsersAction) -> None:
    """Add `purchase reset`."""
    parser = commands.add_parser(
        "reset",
        help="put flags and faults back to their committed defaults",
        description="Restore every live control of the lab in PURCHASE_CONTROL_DIR: the flags as committed in "
        "purchase_lab/flags/flags.json (this also repairs a broken file) and no fault rules. Running processes "
        "follow at once.",
    )
    parser.set_defaults(run=reset)


def reset(_options: argparse.Namespace) -> int:
    """Run every reset and say what each did."""
    try:
        done = reset_lab()
    except (FlagError, OSError) as error:
        print(f"purchase: the reset did not finish: {error}", file=sys.stderr)
        return 1
    print("\n".join(done))
    return 0
