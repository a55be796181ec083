"""`purchase deploy SERVICE VERSION`, `purchase deploy status`, `purchase rollback SERVICE`: releases, live.

The running lab's supervisor does the work (it owns the processes); this command asks it, prints each
step as it is written to the run dir's deploy state, and on Ctrl-C asks it to stop at a safe point.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any

from purchase_lab.config import run_dir
from purchase_lab.control import NoLabRunning, Reply, send
from purchase_lab.deploy.deployer import STRATEGIES
from purchase_lab.deploy.state import read_state
from purchase_lab.topology import GRPC_SERVICES

# The gateway can be redeployed (gunicorn replaces its workers); the gRPC services can change release.
DEPLOYABLE = (*GRPC_SERVICES, "gateway")
# A deploy may take minutes: the reply comes when it ends.
DEPLOY_TIMEOUT = 3600.0
POLL_SECONDS = 0.2
# Exit status of a deploy stopped by Ctrl-C, as a shell reports SIGINT.
INTERRUPTED = 130


def register(commands: argparse._SubParsersAction) -> None:
    """Add `purchase deploy` and `purchase rollback`."""
    deploy = commands.add_parser(
        "deploy",
        help="deploy a release: purchase deploy SERVICE VERSION --strategy rolling|blue-green|canary; "
        "`purchase deploy status` shows the current one",
        description="Move a service's replicas to another release (see `purchase releases`), gated on the "
        "replicas' own error rate and latency. `purchase deploy status` shows the deploy in progress or the last.",
    )
    deploy.add_argument("target", nargs="+", metavar="SERVICE VERSION | status")
    deploy.add_argument("--strategy", choices=STRATEGIES, default="rolling")
    deploy.add_argument("--batch", type=int, default=1, help="rolling: replicas replaced at a time (default 1)")
    deploy.add_argument("--weight", type=float, default=10.0, help="canary: percent of calls it takes (default 10)")
    deploy.add_argument("--window", type=float, default=10.0, help="seconds each gate measures (default 10)")
    deploy.add_argument("--min-calls", type=int, default=20, help="calls each side needs before a gate judges")
    deploy.add_argument("--keep-old", type=float, default=30.0, help="blue-green: seconds the old set stays ready")
    deploy.add_argument("--dry-run", action="store_true", help="say what the gate would decide; change nothing")
    deploy.add_argument("--json", action="store_true", help="deploy status: print the state as JSON")
    deploy.set_defaults(run=run_deploy)
    rollback = commands.add_parser(
        "rollback",
        help="return every replica of SERVICE to its previous release in one step",
        description="Switch SERVICE's traffic back to its previous release at once (the blue-green standby "
        "when it is still there, else a fresh set of the previous release), then stop the current replicas.",
    )
    rollback.add_argument("service", metavar="SERVICE", choices=GRPC_SERVICES)
    rollback.set_defaults(run=run_rollback)


def run_deploy(options: argparse.Namespace) -> int:
    """`purchase deploy status`, or a deploy followed live until it ends."""
    if options.target == ["status"]:
        return show_deploy_status(options.json)
    if len(options.target) != 2 or options.target[0] not in DEPLOYABLE:
        print(f"purchase: give SERVICE VERSION (SERVICE one of {', '.join(DEPLOYABLE)}), or `status`", file=sys.stderr)
        return 2
    service, version = options.target
    request = {
        "op": "deploy",
        "service": service,
        "version": version,
        "strategy": options.strategy,
        "batch": options.batch,
        "weight": options.weight,
        "window": options.window,
        "min_calls": options.min_calls,
        "keep_old": options.keep_old,
        "dry_run": options.dry_run,
    }
    return _follow(request)


def run_rollback(options: argparse.Namespace) -> int:
    """Roll a service back, following it live."""
    return _follow({"op": "rollback", "service": options.service})


def _follow(request: Mapping[str, Any]) -> int:
    """Send a long request, print the deploy's progress lines until the reply, stop it cleanly on Ctrl-C."""
    replies: list[Reply | BaseException] = []
    # An Event, not Thread.join: a join interrupted by Ctrl-C can report a live thread as finished.
    answered = threading.Event()

    def ask() -> None:
        replies.append(_send(request))
        answered.set()

    seen = _event_count()
    threading.Thread(target=ask, daemon=True).start()
    try:
        while not answered.wait(POLL_SECONDS):
            seen = _print_events(seen)
    except KeyboardInterrupt:
        print("purchase: stopping the deploy at its next safe point (every replica stays healthy) ...", flush=True)
        _send({"op": "deploy-stop"})
        answered.wait(DEPLOY_TIMEOUT)
    _print_events(seen)
    reply = replies[0] if replies else OSError("no reply from the supervisor")
    if isinstance(reply, BaseException):
        print(f"purchase: {reply}", file=sys.stderr)
        return 1
    if not reply["ok"]:
        print(f"purchase: {reply['error']}", file=sys.stderr)
        return INTERRUPTED if reply.get("interrupted") else 1
    print(reply["message"])
    return 0


def _send(request: Mapping[str, Any]) -> Reply | BaseException:
    try:
        return send(run_dir(), request, timeout=DEPLOY_TIMEOUT)
    except (NoLabRunning, ValueError, OSError) as error:
        return error


def _event_count() -> int:
    state = read_state(run_dir())
    return len(state["events"]) if state else 0


def _print_events(seen: int) -> int:
    """Print the deploy's progress lines after the first `seen`; return how many there are now."""
    state = read_state(run_dir())
    if state is None:
        return seen
    events = state["events"]
    if len(events) < seen:  # a new deploy started since we looked
        seen = 0
    for event in events[seen:]:
        stamp = time.strftime("%H:%M:%S", time.localtime(event["time"]))
        print(f"{stamp}  {event['message']}", flush=True)
    return len(events)


def show_deploy_status(as_json: bool) -> int:
    """Print the deploy in progress, or the last one."""
    state = read_state(run_dir())
    if state is None:
        print("no deploy has run in this lab (`purchase deploy SERVICE VERSION` starts one)")
        return 0
    if as_json:
        print(json.dumps(state, indent=2))
        return 0
    print(f"{state['service']} {state['from']} -> {state['version']} ({state['strategy']}): {state['phase']}")
    for event in state["events"][-12:]:
        print(f"  {time.strftime('%H:%M:%S', time.localtime(event['time']))}  {event['message']}")
    return 0
