"""`purchase status|start|stop|kill|restart`: look at and control the processes of a running lab.

SERVICE is a service (every replica of it) or one replica, such as `pricing-2`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from typing import Any

from purchase_lab.acks import Ack, flag_agreement, running
from purchase_lab.compose import DEFAULT_PROJECT, compose_command, compose_project
from purchase_lab.config import control_dir, run_dir
from purchase_lab.control import NoLabRunning, Reply, send
from purchase_lab.topology import SERVICES

# The help of each command that acts on one process.
ACTIONS = {
    "start": "start SERVICE again and wait until it is healthy",
    "stop": "stop SERVICE gracefully (SIGTERM); it stays down until `purchase start`",
    "kill": "kill SERVICE at once (SIGKILL), like a crashed node; it stays down until `purchase start`",
    "restart": "stop SERVICE gracefully, start it again and wait until it is healthy",
}
STATUS_EXIT = (
    "exit status: 0 all healthy, 1 no lab running, 3 a process is down or unhealthy, or the processes disagree "
    "on the flags"
)
PROCESS_NAME = re.compile(rf"({'|'.join(SERVICES)})(-[1-9][0-9]?)?")
NAME_WIDTH = 11


def process_name(value: str) -> str:
    """Accept a service name, or a service and replica number such as `pricing-2`."""
    if not PROCESS_NAME.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"invalid choice: {value!r} (choose one of {', '.join(SERVICES)}, or one replica such as pricing-2)"
        )
    return value


def register(commands: argparse._SubParsersAction) -> None:
    """Add `purchase status` and the commands that act on one process."""
    status = commands.add_parser(
        "status", help="show every process: state, pid, address, health now", epilog=STATUS_EXIT
    )
    status.add_argument("--json", action="store_true", help="print the supervisor's reply as JSON")
    status.set_defaults(run=show_status)
    for action, text in ACTIONS.items():
        parser = commands.add_parser(action, help=text, description=text[0].upper() + text[1:] + ".")
        parser.add_argument(
            "service",
            metavar="SERVICE",
            type=process_name,
            help=f"one of {', '.join(SERVICES)} (every replica), or one replica such as pricing-2",
        )
        parser.set_defaults(run=act, action=action)


def _ask(request: Mapping[str, Any]) -> Reply | None:
    """Send a request to the running lab; on failure say why on stderr and return None."""
    command = compose_command(request["op"], request.get("service"), compose_project() or DEFAULT_PROJECT)
    if compose_project() is not None:
        print(
            f"purchase: this lab runs under Docker Compose, which controls its containers: run {command} "
            "on the host, in the directory of docker-compose.yml",
            file=sys.stderr,
        )
        return None
    try:
        return send(run_dir(), request)
    except NoLabRunning as error:
        print(f"purchase: {error}; if the lab runs under Docker Compose, run {command} instead", file=sys.stderr)
    except ValueError as error:
        print(f"purchase: {error}", file=sys.stderr)
    except OSError as error:
        print(f"purchase: could not talk to the lab's supervisor ({error}); is `purchase up` running?", file=sys.stderr)
    return None


def show_status(options: argparse.Namespace) -> int:
    """Print every process's state and health; exit 0 only when all are running and healthy."""
    reply = _ask({"op": "status"})
    if reply is None:
        return 1
    processes = reply["processes"]
    acks = running(control_dir())
    agreement = flag_agreement(acks)
    for process in processes:
        process["flags"] = flags_served(process, acks)
    if options.json:
        print(json.dumps({**reply, "flags": agreement.to_dict()}, indent=2))
    else:
        print(f"supervisor pid {reply['supervisor_pid']}, run dir {run_dir()}")
        print(f"{'SERVICE':<{NAME_WIDTH}}{'STATE':<13}{'PID':<9}{'HEALTH':<11}{'RELEASE':<9}{'FLAGS':<14}ADDRESS")
        for process in processes:
            health = "healthy" if process["healthy"] else "unhealthy"
            pid = process["pid"] or "-"
            name = process["name"]
            flags = process["flags"] or "-"
            release = process.get("release") or "-"
            print(
                f"{name:<{NAME_WIDTH}}{process['state']:<13}{pid!s:<9}{health:<11}{release:<9}{flags:<14}"
                f"{process['address']}"
            )
        print(agreement.summary())
    return 0 if all(p["state"] == "running" and p["healthy"] for p in processes) and agreement.agree else 3


def flags_served(process: Mapping[str, Any], acks: list[Ack]) -> str | None:
    """The flags version a process serves (`mixed` when its workers differ); None when it evaluates no flags."""
    replica = process.get("replica") or 1
    versions = {
        ack.flags
        for ack in acks
        if ack.service == process["service"] and ack.replica == replica and ack.flags is not None
    }
    if not versions:
        return None
    return versions.pop() if len(versions) == 1 else "mixed"


def act(options: argparse.Namespace) -> int:
    """Ask the supervisor to start, stop, kill or restart one process and print what happened."""
    reply = _ask({"op": options.action, "service": options.service})
    if reply is None:
        return 1
    if not reply["ok"]:
        print(f"purchase: {reply['error']}", file=sys.stderr)
        return 1
    print(reply["message"])
    return 0
