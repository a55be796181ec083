"""`purchase fault add|list|remove|clear` and `purchase scenario list|NAME`: change the lab's fault rules live.

The commands edit faults.json in the control dir (PURCHASE_CONTROL_DIR, else <run dir>/control); every
process of the lab follows that file, and a command returns once every running process has applied the
change (`--no-wait`: at once), saying how long that took. A rule for a replica that does not run is
refused. No running supervisor is needed: under compose, run them in a container (`docker compose exec
gateway purchase ...`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from purchase_lab.cli.confirm import add_no_wait, confirm
from purchase_lab.confirm import check_replica_runs, wait_for_faults
from purchase_lab.faults import SCENARIOS, FaultFileError, FaultStore, Rule, RuleError, UnknownRule, UnknownScenario
from purchase_lab.faults.rules import DEFAULT_TTL_S, SERVICES

# Options of `fault add`: flag, field of the rule, help.
RULE_OPTIONS = (
    ("--method", "method", "only this gRPC method (GetAdjustment), or at the gateway an HTTP path prefix"),
    (
        "--error",
        "error",
        "a gRPC status (UNAVAILABLE, INTERNAL, ...), an HTTP status at the gateway, or with "
        "--client also `unreachable`",
    ),
    ("--latency-ms", "latency_ms", "delay each hit call by this many milliseconds"),
    ("--jitter-ms", "jitter_ms", "add a random 0..N ms on top of --latency-ms"),
    ("--rate", "rate", "the fraction of matching calls to hit, above 0 and at most 1 (default 1)"),
    ("--user", "user", "only calls for this user id"),
    ("--sku", "sku", "only calls with this SKU"),
    ("--promo", "promo", "only calls with this promo code"),
    ("--occurrence", "occurrence", "only the Nth call of METHOD within one gateway request (1, 2, ...)"),
    ("--replica", "replica", "only this replica (1, 2, ...) of the service"),
    ("--ttl", "ttl_s", f"seconds until the rule expires, 1 to 3600 (default {DEFAULT_TTL_S})"),
    ("--description", "description", "shown in `fault list` and in every error the rule causes"),
)
EXIT_REFUSED = 2


def register(commands: argparse._SubParsersAction) -> None:
    """Add `purchase fault ...` and `purchase scenario ...`."""
    fault = commands.add_parser("fault", help="add, list, remove and clear live fault rules (see docs/faults.md)")
    actions = fault.add_subparsers(title="actions", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a rule: an error, latency or both, for some or all calls")
    add.add_argument("service", metavar="SERVICE", help=f"one of {', '.join(SERVICES)}")
    for flag, field, text in RULE_OPTIONS:
        add.add_argument(flag, dest=field, metavar=field.split("_")[0].upper(), help=text)
    add.add_argument("--client", action="store_true", help="inject in the gateway's client for SERVICE instead")
    add_no_wait(add)
    add.set_defaults(run=add_fault)
    listing = actions.add_parser("list", help="show the active rules")
    listing.add_argument("--json", action="store_true", help="print the rules as JSON")
    listing.set_defaults(run=list_faults)
    remove = actions.add_parser("remove", help="remove one rule by its id")
    remove.add_argument("rule_id", metavar="ID", help="the rule's id, as `fault list` shows it (f-...)")
    add_no_wait(remove)
    remove.set_defaults(run=remove_fault)
    clear = actions.add_parser("clear", help="remove every rule, or every rule of one service")
    clear.add_argument("service", metavar="SERVICE", nargs="?", help=f"one of {', '.join(SERVICES)}; all if left out")
    add_no_wait(clear)
    clear.set_defaults(run=clear_faults)
    scenario = commands.add_parser("scenario", help="apply a named lab scenario, or `scenario list` to see them")
    scenario.add_argument("name", metavar="NAME", help=f"list, or one of {', '.join(SCENARIOS)}")
    scenario.add_argument("--ttl", dest="ttl_s", help=f"seconds until its rules expire (default {DEFAULT_TTL_S})")
    add_no_wait(scenario)
    scenario.set_defaults(run=run_scenario)


def _refused(what: str, error: Exception) -> int:
    """Say why nothing was done, one problem per line, and return the exit status."""
    problems = error.problems if isinstance(error, RuleError) else (str(error),)
    print(f"purchase: {what}:", *(f"  - {problem}" for problem in problems), sep="\n", file=sys.stderr)
    return EXIT_REFUSED if isinstance(error, RuleError | UnknownRule | UnknownScenario) else 1


def add_fault(options: argparse.Namespace) -> int:
    """Check and add one rule; print it, or every problem with it."""
    fields: dict[str, object] = {"service": options.service}
    fields.update({field: getattr(options, field) for _f, field, _t in RULE_OPTIONS if getattr(options, field)})
    if options.client:
        fields["side"] = "client"
    try:
        if options.replica and not options.client:
            check_replica_runs(options.service, options.replica)
        rule = FaultStore().add_rule(**fields)
    except (RuleError, FaultFileError) as error:
        return _refused("the fault was not added", error)
    print(f"added {describe(rule)}")
    return _applied(options)


def _applied(options: argparse.Namespace) -> int:
    """Wait until every running process follows the rule file (unless --no-wait), saying how long it took."""
    return confirm(options, [("the change", wait_for_faults)])


def list_faults(options: argparse.Namespace) -> int:
    """Print the active rules, oldest first."""
    try:
        rules = FaultStore().list_rules()
    except FaultFileError as error:
        return _refused("cannot read the fault rules", error)
    if options.json:
        print(json.dumps({"faults": [rule.to_dict() for rule in rules]}, indent=2))
    elif not rules:
        print("no active faults")
    else:
        print(*(describe(rule) for rule in rules), sep="\n")
    return 0


def remove_fault(options: argparse.Namespace) -> int:
    """Remove one rule by id."""
    try:
        rule = FaultStore().remove_rule(options.rule_id)
    except (UnknownRule, FaultFileError) as error:
        return _refused("nothing was removed", error)
    print(f"removed {describe(rule)}")
    return _applied(options)


def clear_faults(options: argparse.Namespace) -> int:
    """Remove every rule, or every rule of one service."""
    try:
        removed = FaultStore().clear(options.service)
    except (RuleError, FaultFileError) as error:
        return _refused("nothing was cleared", error)
    print(f"removed {len(removed)} fault(s)", *(f"  {describe(rule)}" for rule in removed), sep="\n")
    return _applied(options)


def run_scenario(options: argparse.Namespace) -> int:
    """List the scenarios, or apply one and say what a student should see."""
    if options.name == "list":
        for scenario in SCENARIOS.values():
            print(f"{scenario.name:<14}{scenario.title}: {scenario.does}")
        return 0
    try:
        ttl = float(options.ttl_s) if options.ttl_s is not None else None
    except ValueError:
        return _refused("the scenario was not applied", RuleError([f"ttl_s={options.ttl_s!r} is not a number"]))
    try:
        rules = FaultStore().apply_scenario(options.name, ttl)
    except (UnknownScenario, RuleError, FaultFileError) as error:
        return _refused("the scenario was not applied", error)
    scenario = SCENARIOS[options.name]
    print(f"{scenario.name}: {scenario.does}", *(f"  added {describe(rule)}" for rule in rules), sep="\n")
    print(f"What to look for: {scenario.student_sees}")
    return _applied(options)


def describe(rule: Rule, now: float | None = None) -> str:
    """One line saying what a rule does, where, to which calls, and for how long."""
    where = rule.service + (f" replica {rule.replica}" if rule.replica else "")
    where += " (gateway's client)" if rule.side == "client" else ""
    does = [str(rule.error)] if rule.error is not None else []
    if rule.latency_ms or rule.jitter_ms:
        top = f"-{rule.latency_ms + rule.jitter_ms}" if rule.jitter_ms else ""
        does.append(f"{rule.latency_ms}{top} ms late")
    only = [
        f"{name}={value}" for name, value in (("user", rule.user), ("sku", rule.sku), ("promo", rule.promo)) if value
    ]
    left = max(0, round(rule.expires_at - (time.time() if now is None else now)))
    parts = [
        f"{rule.id}: {where}, {rule.method or 'every method'}: {' + '.join(does)}",
        f"{rule.rate:.0%} of calls" + (f" with {' '.join(only)}" if only else ""),
        f"expires in {left // 60}m{left % 60:02d}s",
    ]
    return ", ".join(parts) + (f" ({rule.description})" if rule.description else "")
