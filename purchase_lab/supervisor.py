"""Run the lab's processes as children of one supervisor: start them in order, watch them, stop them in reverse.

The supervisor never restarts a process by itself: a stopped or crashed service stays down until someone
runs `purchase start SERVICE`, because watching the system degrade is the point of the lab.

A service run as replicas is one process per replica, named `pricing-1`, `pricing-2`, ...: an operation on
`pricing` acts on each replica in turn (a restart is a rolling restart), one on `pricing-2` on that one only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from purchase_lab.config import Settings
from purchase_lab.health import grpc_serving
from purchase_lab.ports import free_port
from purchase_lab.processes import LineSink, ManagedProcess, print_prefixed
from purchase_lab.releases import CURRENT, RELEASE_ENV
from purchase_lab.topology import REPLICA_PORT_STEP, lab_processes, process_spec

log = logging.getLogger(__name__)


class SupervisorError(RuntimeError):
    """An operation on a lab process could not be done; the message says why and what to do."""


@dataclass(frozen=True)
class ReplicaInfo:
    """One process of a service as a deployer sees it."""

    name: str
    address: str
    release: str
    metrics_port: int
    running: bool
    pid: int | None = None


@dataclass(frozen=True)
class ProcessStatus:
    """What `purchase status` shows for one process."""

    name: str
    state: str  # running, stopped or exited(<code>)
    pid: int | None
    address: str
    healthy: bool
    service: str
    replica: int | None  # None when the service runs as one process
    release: str = ""  # the release the process runs (or will run when started again)

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


class _Slot:
    """One process and what the supervisor knows about it."""

    def __init__(self, process: ManagedProcess, host: str, port: int, service: str, replica: int | None) -> None:
        self.process = process
        self.host = host
        self.port = port
        self.service = service
        self.replica = replica
        self.wanted = False  # started by the supervisor and not since stopped on request
        self.stopped = True  # stopped on request (or never started), as opposed to exited

    @property
    def release(self) -> str:
        """The release this process runs: the one its next start is given (redis has none)."""
        return self.process.spec.env.get(RELEASE_ENV) or CURRENT.get(self.service, "")


class Supervisor:
    """The lab's processes, started, stopped and killed on request, and watched for exits.

    Every method but status() must be called from one long-lived thread: Linux delivers a child's
    parent-death signal when the thread that started it ends, not the process.
    """

    def __init__(
        self,
        settings: Settings,
        run_dir: Path,
        sink: LineSink = print_prefixed,
        health_timeout: float = 20.0,
        replicas: Mapping[str, int] | None = None,
    ) -> None:
        data_dir = run_dir / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        self._health_timeout = health_timeout
        self._settings, self._data_dir, self._sink = settings, data_dir, sink
        # Live flags and fault rules of this lab live in its run dir too, unless the environment says otherwise.
        child_env = {"PURCHASE_CONTROL_DIR": os.environ.get("PURCHASE_CONTROL_DIR") or str(run_dir / "control")}
        try:
            planned = lab_processes(settings, data_dir, replicas)
        except ValueError as error:
            raise SupervisorError(f"cannot run these replicas: {error}") from None
        self._child_env = child_env
        self._slots: dict[str, _Slot] = {}
        for lab_process in planned:
            spec = lab_process.spec
            spec.env = {**spec.env, **child_env}
            host = "127.0.0.1" if lab_process.service == "redis" else settings.host
            self._slots[lab_process.name] = _Slot(
                ManagedProcess(spec, sink), host, lab_process.port, lab_process.service, lab_process.replica
            )

    @property
    def names(self) -> list[str]:
        """Every process's name in start order: `pricing-1`, `pricing-2`, ... for a service run as replicas."""
        return list(self._slots)

    def _resolve(self, name: str) -> list[tuple[str, _Slot]]:
        """The processes a name means: one process, or every replica of a service."""
        if name in self._slots:
            return [(name, self._slots[name])]
        # A service's name means all its replicas; `pricing-1` of a service that runs once means that process.
        alone = (name.removesuffix("-1"), None)
        found = [
            (key, slot) for key, slot in self._slots.items() if name == slot.service or alone == (key, slot.replica)
        ]
        if not found:
            services = dict.fromkeys(slot.service for slot in self._slots.values())
            replicas = [key for key, slot in self._slots.items() if slot.replica is not None]
            raise SupervisorError(f"unknown process {name!r}; choose one of {', '.join([*services, *replicas])}")
        return found

    def address(self, name: str) -> str:
        """Where the named process listens."""
        return self._slots[name].process.spec.address

    def start(self, name: str) -> str:
        """Start the named process (every replica, when a service's name is given); return what happened."""
        return "\n".join(self._start(key, slot) for key, slot in self._resolve(name))

    def _start(self, name: str, slot: _Slot) -> str:
        """Start one process and wait until it is healthy."""
        process = slot.process
        if process.running:
            return f"{name} is already running (pid {process.pid})"
        if port_in_use(slot.host, slot.port):
            step = f" (replica i listens on it + {REPLICA_PORT_STEP} * (i - 1))" if slot.replica else ""
            raise SupervisorError(
                f"cannot start {name}: port {slot.port} is in use by another program; "
                f"stop that program or set PURCHASE_{slot.service.upper()}_PORT to a free port{step}"
            )
        log.info("starting %s", name)
        began = time.monotonic()
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
        """Stop the named process (or every replica) gracefully (SIGTERM); return what happened."""
        return "\n".join(self._stop(key, slot) for key, slot in self._resolve(name))

    def _stop(self, name: str, slot: _Slot) -> str:
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
        """Kill the named process (or every replica) at once (SIGKILL), like a crashed node; say what happened."""
        return "\n".join(self._kill(key, slot) for key, slot in self._resolve(name))

    def _kill(self, name: str, slot: _Slot) -> str:
        if not slot.process.running:
            return f"{name} is not running"
        slot.wanted = False
        log.info("killing %s (SIGKILL)", name)
        slot.process.kill()
        message = f"{name} killed; `purchase start {name}` starts it again"
        log.info("%s", message)
        return message

    def restart(self, name: str) -> str:
        """Stop the named process gracefully, then start it and wait until it is healthy.

        Replicas restart one after the other, so the others keep serving: a rolling restart.
        """
        messages = []
        for key, slot in self._resolve(name):
            self._stop(key, slot)
            messages.append(self._start(key, slot))
        return "\n".join(messages)

    def start_all(self, keep_going: Callable[[], bool] = lambda: True) -> None:
        """Start every process in order, each healthy before the next; stop early when keep_going() is false."""
        for name, slot in self._slots.items():
            if not keep_going():
                return
            self._start(name, slot)

    def set_release(self, name: str, version: str) -> None:
        """Run `version` in the named process from its next start on (a running process keeps its release)."""
        spec = self._slots[name].process.spec
        spec.env = {**spec.env, RELEASE_ENV: version}

    def replicas_of(self, service: str) -> list[ReplicaInfo]:
        """Every process of a service, in order, with what a deployer needs to know of it."""
        return [
            ReplicaInfo(
                name,
                slot.process.spec.address,
                slot.release,
                self._metrics_port(slot),
                slot.process.running,
                slot.process.pid if slot.process.running else None,
            )
            for name, slot in self._slots.items()
            if slot.service == service
        ]

    def _metrics_port(self, slot: _Slot) -> int:
        variable = f"PURCHASE_{slot.service.upper()}_METRICS_PORT"
        return int(slot.process.spec.env.get(variable) or self._settings.metrics_ports.of(slot.service))

    def add_replicas(self, service: str, version: str, count: int) -> list[str]:
        """Start `count` more replicas of a gRPC service on `version`, on free ports, all at once; return their names.

        Each is healthy when this returns, and is one of this supervisor's processes (status, stop, ...), after
        the service's others. When one does not become healthy, none of them is kept.
        """
        added = [self._add_slot(service, version) for _ in range(count)]
        try:
            for name, slot in added:
                log.info("starting %s on %s", name, version)
                slot.process.start()
                slot.wanted, slot.stopped = True, False
            for name, slot in added:
                try:
                    slot.process.wait_healthy(self._health_timeout)
                except (TimeoutError, RuntimeError) as error:
                    raise SupervisorError(f"{error}; its log lines above (prefixed `{name}`) say why") from None
                log.info("%s is healthy at %s (pid %s)", name, slot.process.spec.address, slot.process.pid)
        except SupervisorError:
            for name, slot in added:
                slot.wanted = False
                slot.process.stop()
                self._forget(name)
            raise
        return [name for name, _ in added]

    def _add_slot(self, service: str, version: str) -> tuple[str, _Slot]:
        """A new, not yet started replica of a service on free ports, placed after the service's others."""
        numbers = [slot.replica or 1 for slot in self._slots.values() if slot.service == service]
        if not numbers:
            raise SupervisorError(f"{service} is not a service of this lab")
        replica = max(numbers) + 1
        port, metrics_port = free_port(), free_port()
        spec = process_spec(service, self._settings, self._data_dir)
        target = f"127.0.0.1:{port}"
        spec.name, spec.address = f"{service}-{replica}", target
        spec.healthy = lambda: grpc_serving(target)
        spec.env = {
            **spec.env,
            **self._child_env,
            "PURCHASE_REPLICA": str(replica),
            f"PURCHASE_{service.upper()}_PORT": str(port),
            f"PURCHASE_{service.upper()}_METRICS_PORT": str(metrics_port),
            RELEASE_ENV: version,
        }
        slot = _Slot(ManagedProcess(spec, self._sink), self._settings.host, port, service, replica)
        order = list(self._slots.items())
        last = max(index for index, (_, other) in enumerate(order) if other.service == service)
        order.insert(last + 1, (spec.name, slot))
        self._slots = dict(order)
        return spec.name, slot

    def _forget(self, name: str) -> None:
        # A new dict rather than `del`: status() reads the processes from another thread.
        self._slots = {key: slot for key, slot in self._slots.items() if key != name}

    def remove(self, name: str) -> str:
        """Stop a process gracefully and forget it: a replica a deploy replaced."""
        message = self._stop(name, self._slots[name])
        self._forget(name)
        return message

    def stop_all(self) -> None:
        """Stop every process, the gateway first and Redis last."""
        for name, slot in reversed(self._slots.items()):
            self._stop(name, slot)

    def reap(self) -> None:
        """Report, once, every process that exited without being asked to."""
        for name, slot in self._slots.items():
            code = slot.process.returncode
            if slot.wanted and code is not None:
                slot.wanted = False
                log.warning("%s exited with %s; `purchase start %s` starts it again", name, describe_exit(code), name)

    def status(self) -> list[ProcessStatus]:
        """Every process's state, with its health checked now through its real health protocol."""
        slots = self._slots
        with ThreadPoolExecutor(max_workers=len(slots)) as pool:
            checks = {name: pool.submit(self._healthy, slot) for name, slot in slots.items()}
            health = {name: check.result() for name, check in checks.items()}
        return [
            ProcessStatus(
                name,
                self._state(slot),
                slot.process.pid if slot.process.running else None,
                slot.process.spec.address,
                health[name],
                slot.service,
                slot.replica,
                slot.release,
            )
            for name, slot in slots.items()
        ]

    def _healthy(self, slot: _Slot) -> bool:
        return slot.process.spec.healthy()

    @staticmethod
    def _state(slot: _Slot) -> str:
        if slot.process.running:
            return "running"
        if slot.stopped:
            return "stopped"
        return f"exited({slot.process.returncode})"
