"""`purchase`: run Purchase Lab on this machine and control it while it runs.

Each command group is a module with a `register(commands)` function that adds its subcommands;
adding a group is one more entry in COMMAND_GROUPS.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from purchase_lab.cli import deploy, drift, explore, faults, flags, lab, load, processes, releases, up
from purchase_lab.config import ConfigError

COMMAND_GROUPS = (up, processes, faults, flags, lab, load, releases, deploy, explore, drift)


def build_parser() -> argparse.ArgumentParser:
    """The `purchase` argument parser with every command group registered."""
    parser = argparse.ArgumentParser(
        prog="purchase",
        description="Run Purchase Lab (Redis, cart, pricing, email, gateway) as local processes and control it.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `purchase` command and return its exit status."""
    options = build_parser().parse_args(argv)
    try:
        return options.run(options)
    except ConfigError as error:
        print(f"purchase: {error}", file=sys.stderr)
        return 2
