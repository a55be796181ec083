"""`purchase reset`: put the whole lab back to its committed defaults (flags as in git, no faults).

`--data` empties the shop instead (carts, orders, emails) and leaves flags and faults alone; `--all` does both.
"""

from __future__ import annotations

import argparse
import sys

from purchase_lab.cli.confirm import add_no_wait, confirm
from purchase_lab.config import Settings
from purchase_lab.confirm import wait_for_faults, wait_for_flags
from purchase_lab.flags import FlagError, FlagSettings
from purchase_lab.lab_data import DataResetError, reset_data
from purchase_lab.lab_reset import reset_lab


def register(commands: argparse._SubParsersAction) -> None:
    """Add `purchase reset`."""
    parser = commands.add_parser(
        "reset",
        help="put flags and faults back to their committed defaults (--data: empty the shop; --all: both)",
        description="Restore every live control of the lab in PURCHASE_CONTROL_DIR: the flags as committed in "
        "purchase_lab/flags/flags.json (this also repairs a broken file) and no fault rules. It returns once every "
        "running process has applied both.",
    )
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument(
        "--data",
        action="store_true",
        help="empty the shop of the running lab instead: every cart, order and email (flags and faults stay)",
    )
    scope.add_argument("--all", action="store_true", help="both: flags and faults as committed, and an empty shop")
    add_no_wait(parser)
    parser.set_defaults(run=reset)


def reset(options: argparse.Namespace) -> int:
    """Run every reset asked for and say what each did."""
    done: list[str] = []
    try:
        if not options.data:
            done += reset_lab()
        if options.data or options.all:
            done.append(reset_data(Settings.from_env().redis_url).describe())
    except (FlagError, OSError, DataResetError) as error:
        # What did finish is said too: with --all, flags and faults are reset even when Redis is down.
        if done:
            print("\n".join(done))
        print(f"purchase: the reset did not finish: {error}", file=sys.stderr)
        return 1
    print("\n".join(done))
    if options.data:
        return 0
    flags_file = FlagSettings.from_env().live_path
    return confirm(options, [("the flags", lambda: wait_for_flags(flags_file)), ("the faults", wait_for_faults)])
