"""`purchase up`: start Redis and every service as local processes and supervise them until a stop signal."""

from __future__ import annotations

import argparse
import logging
import os
import queue
import secrets
import signal
import sys
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from purchase_lab.config import ConfigError, Settings, control_dir, run_dir
from purchase_lab.control import ControlServer, LabAlreadyRunning, Reply, claim_run_dir, socket_path
from purchase_lab.deploy.deployer import Deployer, DeployFailed, DeployInterrupted, deploy_request
from purchase_lab.redis_server import RedisNotFound
from purchase_lab.supervisor import Supervisor, SupervisorError
from purchase_lab.topology import REPLICA_PORT_STEP, check_replicas

log = logging.getLogger(__name__)

# Operations that change a process; they run one at a time on the supervisor's main thread.
OPERATIONS = ("start", "stop", "kill", "restart")
# Deploy operations; they run on the same thread, one at a time, and report as they go (purchase_lab/deploy).
DEPLOY_OPERATIONS = ("deploy", "rollback")
# Where `purchase up` writes the admin token, in the run dir.
ADMIN_TOKEN_FILE = "admin-token"
# How often the supervisor looks for processes that exited on their own, in seconds.
WATCH_INTERVAL = 0.2

Operation = tuple[str, str, "Future[str]"]


def register(commands: argparse._SubParsersAction) -> None:
    """Add `purchase up`."""
    parser = commands.add_parser(
        "up",
        help="start Redis and every service; Ctrl-C stops them all",
        description="Start Redis, cart, pricing, email and the gateway as local processes, each healthy before "
        "the next, and keep them under supervision until Ctrl-C, SIGTERM or SIGHUP. Ports come from "
        "PURCHASE_<SERVICE>_PORT; state lives in PURCHASE_RUN_DIR (default .run).",
    )
    parser.add_argument(
        "--replicas",
        metavar="SERVICE=N",
        type=replica_counts,
        action="append",
        default=[],
        help="run N processes of a gRPC service, balanced round robin by the gateway (repeat, or pricing=3,cart=2); "
        f"replica i listens on the service's port + {REPLICA_PORT_STEP} * (i - 1)",
    )
    parser.set_defaults(run=run)


def replica_counts(value: str) -> dict[str, int]:
    """Read `pricing=3` or `pricing=3,cart=2` into replica counts, refusing what cannot run."""
    counts: dict[str, int] = {}
    for item in value.split(","):
        service, _, number = item.strip().partition("=")
        if not number.strip().isdigit():
            raise argparse.ArgumentTypeError(f"{item!r}: write SERVICE=N, such as pricing=3")
        counts[service.strip()] = int(number)
    try:
        check_replicas(counts)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return counts


class _PrefixedFormatter(logging.Formatter):
    """Format supervisor events like the children's lines: `purchase | message`."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.levelno >= logging.WARNING:
            text = f"{record.levelname.lower()}: {text}"
        return f"{'purchase':<9}| {text}"


def run(options: argparse.Namespace) -> int:
    """Run the lab in the foreground; return 0 after a clean stop, 1 when it could not start."""
    handler = logging.StreamHandler(sys.stdout)  # one stream, so events and children's lines stay in order
    handler.setFormatter(_PrefixedFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    settings = Settings.from_env()
    directory = run_dir()
    try:
        path = socket_path(directory)
        lock = claim_run_dir(directory)
    except (LabAlreadyRunning, ValueError) as error:
        print(f"purchase: {error}", file=sys.stderr)
        return 1
    with lock:
        ensure_admin_token(directory)
        replicas = {service: count for counts in options.replicas for service, count in counts.items()}
        try:
            supervisor = Supervisor(settings, directory, replicas=replicas)
        except (RedisNotFound, SupervisorError) as error:
            print(f"purchase: {error}", file=sys.stderr)
            return 1
        return _Lab(supervisor, path).run()


def ensure_admin_token(directory: Path) -> str:
    """The admin API's token: PURCHASE_ADMIN_TOKEN, or a new random one that every child inherits.

    It is also written to <run dir>/admin-token (readable by this user only) for tools and tests.
    """
    token = os.environ.get("PURCHASE_ADMIN_TOKEN") or secrets.token_urlsafe(18)
    os.environ["PURCHASE_ADMIN_TOKEN"] = token
    path = directory / ADMIN_TOKEN_FILE
    # Created 0600, and set back to 0600 should an older file have wider permissions.
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as file:
        file.write(token + "\n")
    path.chmod(0o600)
    return token


class _Lab:
    """The supervisor in the foreground: the control socket, signals, and the loop that runs operations."""

    def __init__(self, supervisor: Supervisor, path: Path) -> None:
        self.supervisor = supervisor
        self.path = path
        self._signal: int | None = None
        self._ops: queue.Queue[Operation] = queue.Queue()
        self._accepting = True
        self._accepting_lock = threading.Lock()
        self.deployer = Deployer(supervisor, path.parent, control_dir(), lambda: self._signal is not None)

    def run(self) -> int:
        """Start everything, serve requests until a signal, then stop everything; return the exit status."""
        # SIGHUP too (a closed terminal); catching all three also gives every child their default action, even
        # when `purchase up` started with them ignored (nohup, a background job): exec keeps only ignored ones.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._on_signal)
        control = ControlServer(self.path, self._handle)
        control.start()
        try:
            return self._run_until_signal()
        finally:
            self._shut_down(control)

    def _run_until_signal(self) -> int:
        began = time.monotonic()
        try:
            self.supervisor.start_all(keep_going=lambda: self._signal is None)
        except SupervisorError as error:
            log.error("%s", error)
            log.error("the lab did not start; stopping what did")
            return 1
        if self._signal is None:
            self.deployer.record_inventory()
            self._announce(time.monotonic() - began)
            self._serve()
        log.info("received %s; stopping every process", signal.Signals(self._signal or signal.SIGTERM).name)
        return 0

    def _on_signal(self, signum: int, _frame: object) -> None:
        # Only record it: a signal handler must not take locks the interrupted code may hold.
        if self._signal is None:
            self._signal = signum

    def _handle(self, request: Mapping[str, Any]) -> Reply:
        """Answer one control request (on a control-socket thread)."""
        op = request.get("op")
        if op == "status":
            processes = [status.to_dict() for status in self.supervisor.status()]
            return {"ok": True, "supervisor_pid": os.getpid(), "processes": processes}
        if op == "deploy-stop":
            self.deployer.stop_requested.set()
            return {"ok": True, "message": "the deploy stops at its next safe point"}
        if op not in OPERATIONS + DEPLOY_OPERATIONS:
            known = ", ".join(OPERATIONS + DEPLOY_OPERATIONS)
            return {"ok": False, "error": f"unknown op {op!r}; use status or one of {known}"}
        done: Future[str] = Future()
        with self._accepting_lock:
            if not self._accepting:
                return {"ok": False, "error": "the lab is shutting down; nothing was done"}
            self._ops.put((op, request if op in DEPLOY_OPERATIONS else str(request.get("service")), done))
        try:
            return {"ok": True, "message": done.result()}
        except (SupervisorError, DeployFailed, DeployInterrupted, ConfigError) as error:
            return {"ok": False, "error": str(error), "interrupted": isinstance(error, DeployInterrupted)}

    def _serve(self) -> None:
        """Run queued operations and report exits until a signal arrives."""
        while self._signal is None:
            try:
                op, service, done = self._ops.get(timeout=WATCH_INTERVAL)
            except queue.Empty:
                self.supervisor.reap()
                self.deployer.tick()
                continue
            try:
                done.set_result(self._run_op(op, service))
            except (SupervisorError, DeployFailed, DeployInterrupted, ConfigError) as error:
                done.set_exception(error)
            self.deployer.record_inventory()
            self.supervisor.reap()

    def _run_op(self, op: str, argument: Any) -> str:
        """Run one queued operation on this (the supervisor's) thread."""
        if op == "deploy":
            return self.deployer.deploy(deploy_request(argument))
        if op == "rollback":
            return self.deployer.rollback(str(argument.get("service")))
        return getattr(self.supervisor, op)(argument)

    def _shut_down(self, control: ControlServer) -> None:
        """Refuse what is still queued, close the control socket, and stop every process."""
        with self._accepting_lock:
            self._accepting = False
        while not self._ops.empty():
            self._ops.get_nowait()[2].set_exception(SupervisorError("the lab is shutting down; nothing was done"))
        control.close()
        self.supervisor.stop_all()
        log.info("everything stopped")

    def _announce(self, seconds: float) -> None:
        """Tell the person at the terminal where everything listens and how to control it."""
        addresses = {name: self.supervisor.address(name) for name in self.supervisor.names}
        print(banner(seconds, addresses, self.path.parent), flush=True)


def banner(seconds: float, addresses: Mapping[str, str], directory: Path) -> str:
    """What `purchase up` prints once everything is healthy: addresses in start order, the console, the token."""
    width = max(len(name) for name in addresses) + 2
    gateway = addresses["gateway"]
    return "\n".join(
        [
            f"Purchase Lab is up ({seconds:.1f} s). Where everything listens, in start order:",
            *(f"  {name:<{width}}{address}" for name, address in addresses.items()),
            f"Console:  {gateway}/console  (log in with the admin token)",
            # The token itself is never printed: this output often ends up in a log (docs/security.md).
            f"Token:    in {directory / ADMIN_TOKEN_FILE} (readable by you only); the console asks for it, the admin "
            f"API wants Authorization: Bearer $(cat {directory / ADMIN_TOKEN_FILE})",
            f"Try it:   curl {gateway}/api/v1/products",
            "Control:  purchase status | purchase stop|start|kill|restart SERVICE  (from another terminal)",
            "Faults:   purchase fault add|list|clear | purchase scenario list|NAME",
            "Reset:    purchase reset (flags and faults) | purchase reset --data (carts, orders, emails)",
            "Stop:     Ctrl-C stops every process",
        ]
    )
