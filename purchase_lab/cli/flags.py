"""`purchase flag list|set|ramp|employees|user|kill`: take a flag through its rollout, live.

Each command changes the live flags file of the lab in PURCHASE_CONTROL_DIR (default: control/ in
the run dir, the same one `purchase up` uses), then returns once every running process serves the
change (`--no-wait`: at once), saying how long that took. Bad input exits with status 2 and says what
to do instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from purchase_lab import flags
from purchase_lab.cli.confirm import add_no_wait, confirm
from purchase_lab.confirm import wait_for_flags
from purchase_lab.flags import FlagError, FlagSettings, FlagStatus

FLAG_HELP = f"the flag's name: {', '.join(flags.FLAGS)}"
ROLLOUT_HELP = "see docs/flags.md for the rollout these commands make"
# Who gets a flag's new code after each command: `purchase flag --help` prints it, and docs/flags.md
# holds the same table (a test compares them whole).
ROLLOUT_COMMANDS = (
    ("purchase flag set FLAG on", "everyone"),
    ("purchase flag set FLAG off", "nobody (named users are dropped too)"),
    ("purchase flag ramp FLAG 0", "employees and named users only, the same as `employees`"),
    ("purchase flag employees FLAG", "employees and named users only"),
    (
        "purchase flag ramp FLAG N",
        "employees + N% of everyone else, and named users (N a whole number from 0 to 100; sticky per user)",
    ),
    ("purchase flag user FLAG USER_ID", "that user too, on top of the current plan; repeat for more users"),
    ("purchase flag kill FLAG", "nobody: the kill switch; every process serves the code default"),
    ("purchase reset", "every flag as committed in git (and no faults)"),
)


def rollout_table() -> str:
    """ROLLOUT_COMMANDS as the Markdown table of docs/flags.md."""
    rows = [f"| `{command}` | {effect} |" for command, effect in ROLLOUT_COMMANDS]
    return "\n".join(["| command | who gets the new code |", "|---|---|", *rows])


def register(commands: argparse._SubParsersAction) -> None:
    """Add `purchase flag` and its subcommands."""
    group = commands.add_parser(
        "flag",
        help="list the feature flags, ramp one, kill one",
        description="Change the lab's feature flags live: " + ROLLOUT_HELP + ".",
        epilog="who gets the new code:\n"
        + "\n".join(f"  {command:<34}{effect}" for command, effect in ROLLOUT_COMMANDS),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    steps = group.add_subparsers(title="flag commands", metavar="COMMAND", required=True)
    listed = steps.add_parser("list", help="every flag, its state and who has it")
    listed.add_argument("--json", action="store_true", help="print the flags as JSON")
    listed.set_defaults(run=list_flags)
    set_flag = _step(steps, "set", "turn FLAG on or off for everyone", lambda o: flags.set_flag(o.flag, o.value))
    set_flag.add_argument("value", metavar="on|off", choices=("on", "off"), help="on: everyone; off: nobody")
    ramp = _step(
        steps, "ramp", "turn FLAG on for employees + PERCENT% of everyone else", lambda o: flags.ramp(o.flag, o.percent)
    )
    ramp.add_argument("percent", metavar="PERCENT", type=percent, help="a whole number from 0 to 100; sticky per user")
    _step(steps, "employees", "turn FLAG on for employees only", lambda o: flags.employees_only(o.flag))
    user = _step(
        steps, "user", "turn FLAG on for one more user, on top of the rollout", lambda o: flags.add_user(o.flag, o.user)
    )
    user.add_argument("user", metavar="USER_ID", help="the user's id, as sent in X-User-Id")
    _step(
        steps,
        "kill",
        "kill switch: everyone gets FLAG's code default (the old behaviour)",
        lambda o: flags.kill(o.flag),
    )


def _step(
    steps: argparse._SubParsersAction, name: str, text: str, change: Callable[[argparse.Namespace], FlagStatus]
) -> argparse.ArgumentParser:
    """Add one rollout command taking FLAG; it prints the flag's new rollout."""
    parser = steps.add_parser(
        name, help=text.replace("%", "%%"), description=text[0].upper() + text[1:] + "; " + ROLLOUT_HELP + "."
    )
    parser.add_argument("flag", metavar="FLAG", help=FLAG_HELP)
    add_no_wait(parser)
    parser.set_defaults(run=lambda options: _apply(change, options))
    return parser


def percent(text: str) -> int:
    """Read a ramp percentage; argparse reports anything but a whole number from 0 to 100."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 100, got {text!r}")
    return value


def status_line(status: FlagStatus) -> str:
    """One flag in one line: name, state, and its rollout in words."""
    return f"{status.key:<26}{status.state:<9}{status.summary}"


def list_flags(options: argparse.Namespace) -> int:
    """Print every flag the code knows, as the live file has it."""
    try:
        statuses = flags.list_flags()
    except FlagError as error:
        return _refused(error)
    if options.json:
        print(json.dumps([status.to_dict() for status in statuses], indent=2))
    else:
        print("\n".join(status_line(status) for status in statuses))
    return 0


def _apply(change: Callable[[argparse.Namespace], FlagStatus], options: argparse.Namespace) -> int:
    try:
        status = change(options)
    except FlagError as error:
        return _refused(error)
    print(status_line(status))
    return confirm(options, [("the change", lambda: wait_for_flags(FlagSettings.from_env().live_path))])


def _refused(error: FlagError) -> int:
    print(f"purchase: {error}", file=sys.stderr)
    return 2
