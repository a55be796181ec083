"""Run the lab's processes as children of one supervisor: start them in order, watch them, stop them in reverse.

The supervisor never restarts a process by itself: a stopped or crashed service stays down until someone
runs `purchase start SERVICE`, because watching the system degrade is the point of the lab.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from purchase_lab.config import Settings
from purchase_lab.processes import LineSink, ManagedProcess, print_prefixed
from purchase_lab.topology import SERVICES, process_spec

log = logging.getLogger(__name__)


class SupervisorError(RuntimeError):
    """An operation on a lab process could not be done; the message says why and what to do."""


@dataclass(frozen=True)
class ProcessStatus:
    """What `purchase status` shows for one process."""

    name: str
    state: str  # running, stopped or exited(<code>)
    pid: int | None
    address: str
    healthy: bool

    def to_dict(self) -> dict[str, Any]:
        """The status as plain JSON-ready data."""
        return asdict(self)


def describe_exit(code: int) -> str:
    """Say how a process ended: `code 1`, or `code -9 (SIGKILL)` when a signal ended it."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"code {code} ({signal.Signals(-code).name})"
    return f"code {code}"


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on host:port."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


class _ForkGuard:
    """Let health checks run side by side, but never while the supervisor forks a child.

    gRPC's fork handlers give up when another thread is inside a gRPC call at fork time, and the
    child's copy of gRPC is then broken before it even execs; status() checks health from threads.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._checks = 0
        self._forking = False

    @contextlib.contextmanager
    def checking(self) -> Iterator[None]:
        """Hold off forks while a health check runs."""
        with self._changed:
            self._changed.wait_for(lambda: not self._forking)
            self._checks += 1
        try:
            yield
        finally:
            with self._changed:
                self._checks -= 1
                self._changed.notify_all()

    @contextlib.contextmanager
    def forking(self) -> Iterator[None]:
        """Wait for running health checks to finish and hold off new ones while a child is forked."""
        with self._changed:
            self._forking = True
            self._changed.wait_for(lambda: self._checks == 0)
        try:
            yield
        finally:
            with self._changed:
                self._forking = False
                self._changed.notify_all()


class _Slot:
    """One process and what the supervisor knows about it."""

    def __init__(self, process: ManagedProcess, host: str, port: int) -> None:
        self.process = process
        self.host = host
        self.port = port
        self.wanted = False  # started by the supervisor and not since stopped on request
        self.stopped = True  # stopped on request (or never started), as opposed to exited


class Supervisor:
    """The lab's processes, started, stopped and killed on request, and watched for exits.

    Every method but status() must be called from one long-lived thread: Linux delivers a child's
    parent-death signal when the thread that started it ends, not the process.
    """

    def __init__(
        self, settings: Settings, run_dir: Path, sink: LineSink = print_prefixed, health_timeout: float = 20.0
    ) -> None:
        data_dir = run_dir / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        self._health_timeout = health_timeout
        self._fork_guard = _ForkGuard()
        # Live flags and fault rules of this lab live in its run dir too, unless the environment says otherwise.
        child_env = {"PURCHASE_CONTROL_DIR": os.environ.get("PURCHASE_CONTROL_DIR") or str(run_dir / "control")}
        self._slots: dict[str, _Slot] = {}
        for name in SERVICES:
            spec = process_spec(name, settings, data_dir)
            spec.env = {**spec.env, **child_env}
            host = "127.0.0.1" if name == "redis" else settings.host
            self._slots[name] = _Slot(ManagedProcess(spec, sink), host, getattr(settings.ports, name))

    def _slot(self, name: str) -> _Slot:
        if name not in self._slots:
            raise SupervisorError(f"unknown service {name!r}; choose one of {', '.join(SERVICES)}")
        return self._slots[name]

    def address(self, name: str) -> str:
        """Where the named process listens."""
        return self._slot(name).process.spec.address

    def start(self, name: str) -> str:
        """Start the named process and wait until it is healthy; return what happened."""
        slot = self._slot(name)
        process = slot.process
        if process.running:
            return f"{name} is already running (pid {process.pid})"
        if port_in_use(slot.host, slot.port):
            raise SupervisorError(
                f"cannot start {name}: port {slot.port} is in use by another program; "
                f"stop that program or set PURCHASE_{name.upper()}_PORT to a free port"
            )
        log.info("starting %s", name)
        began = time.monotonic()
        with self._fork_guard.forking():
            process.start()
        slot.wanted, slot.stopped = True, False
        try:
            process.wait_healthy(self._health_timeout)
        except (TimeoutError, RuntimeError) as error:
            slot.wanted = False
            process.stop()
            raise SupervisorError(f"{error}; its log lines above (prefixed `{name}`) say why") from None
        message = f"{name} is healthy at {process.spec.address} (pid {process.pid}, {time.monotonic() - began:.1f} s)"
        log.info("%s", message)
        return message

    def stop(self, name: str) -> str:
        """Stop the named process gracefully (SIGTERM); return what happened."""
        slot = self._slot(name)
        if not slot.process.running:
            return f"{name} is not running"
        slot.wanted = False
        log.info("stopping %s (SIGTERM)", name)
        slot.process.stop()
        slot.stopped = True
        message = f"{name} stopped with {describe_exit(slot.process.returncode or 0)}"
        log.info("%s", message)
        return message

    def kill(self, name: str) -> str:
        """Kill the named process at once (SIGKILL), like a crashed node; return what happened."""
        slot = self._slot(name)
        if not slot.process.running:
            return f"{name} is not running"
        slot.wanted = False
        log.info("killing %s (SIGKILL)", name)
        slot.process.kill()
        message = f"{name} killed; `purchase start {name}` starts it again"
        log.info("%s", message)
        return message

    def restart(self, name: str) -> str:
        """Stop the named process gracefully, then start it and wait until it is healthy."""
        self.stop(name)
        return self.start(name)

    def start_all(self, keep_going: Callable[[], bool] = lambda: True) -> None:
        """Start every process in order, each healthy before the next; stop early when keep_going() is false."""
        for name in SERVICES:
            if not keep_going():
                return
            self.start(name)

    def stop_all(self) -> None:
        """Stop every process, the gateway first and Redis last."""
        for name in reversed(SERVICES):
            self.stop(name)

    def reap(self) -> None:
        """Report, once, every process that exited without being asked to."""
        for name, slot in self._slots.items():
            code = slot.process.returncode
            if slot.wanted and code is not None:
                slot.wanted = False
                log.warning("%s exited with %s; `purchase start %s` starts it again", name, describe_exit(code), name)

    def status(self) -> list[ProcessStatus]:
        """Every process's state, with its health checked now through its real health protocol."""
        with ThreadPoolExecutor(max_workers=len(self._slots)) as pool:
            checks = {name: pool.submit(self._healthy, slot) for name, slot in self._slots.items()}
            health = {name: check.result() for name, check in checks.items()}
        return [
            ProcessStatus(
                name,
                self._state(slot),
                slot.process.pid if slot.process.running else None,
                slot.process.spec.address,
                health[name],
            )
            for name, slot in self._slots.items()
        ]

    def _healthy(self, slot: _Slot) -> bool:
        with self._fork_guard.checking():
            return slot.process.spec.healthy()

    @staticmethod
    def _state(slot: _Slot) -> str:
        if slot.process.running:
            return "running"
        if slot.stopped:
            return "stopped"
        return f"exited({slot.process.returncode})"
