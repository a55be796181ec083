"""A whole lab started by the bench: Redis and the four services as real processes, on free loopback ports.

Each lab has its own control dir (live flags and fault rules), its own Redis data dir, and a log file per
process, so several labs (telemetry on, unsampled, off) can run side by side without seeing each other.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

import psutil

from purchase_lab.config import Ports, Settings
from purchase_lab.ports import free_port
from purchase_lab.processes import ManagedProcess
from purchase_lab.topology import GRPC_SERVICES, SERVICES, lab_processes

# Below the ephemeral range (32768 and up), so a port we pick never collides with an outgoing connection.
HEALTH_TIMEOUT_S = 30.0


class LabStartError(RuntimeError):
    """A lab process did not become healthy; the message carries the end of its log."""


class BenchLab:
    """Redis, cart, pricing, email and the gateway, each a child process logging to `<log_dir>/<name>.log`."""

    def __init__(self, name: str, log_dir: Path, env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.log_dir = log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        ports = Ports(**{service: free_port() for service in SERVICES})
        self.control_dir = log_dir / "control"
        self.env = {
            **{f"PURCHASE_{service.upper()}_PORT": str(getattr(ports, service)) for service in SERVICES},
            **{f"PURCHASE_{service.upper()}_METRICS_PORT": str(free_port()) for service in GRPC_SERVICES},
            "PURCHASE_HOST": "127.0.0.1",
            "PURCHASE_CONTROL_DIR": str(self.control_dir),
            "PURCHASE_ADMIN_TOKEN": f"bench-{uuid.uuid4().hex}",
            # Spans are made and metrics kept, but nothing is exported: no collector runs during a bench.
            "OTEL_TRACES_EXPORTER": "none",
            **(env or {}),
        }
        self.settings = Settings.from_env(self.env)
        data_dir = log_dir / "redis-data"
        data_dir.mkdir(parents=True, exist_ok=True)
        self._plan = {process.name: process.spec for process in lab_processes(self.settings, data_dir)}
        self.processes: dict[str, ManagedProcess] = {}
        self._logs: list[TextIO] = []
        self.started_in_s: dict[str, float] = {}

    @property
    def gateway_address(self) -> tuple[str, int]:
        """The gateway's host and port."""
        return "127.0.0.1", self.settings.ports.gateway

    def target(self, service: str) -> str:
        """host:port of a gRPC service."""
        return f"127.0.0.1:{getattr(self.settings.ports, service)}"

    def start(self) -> float:
        """Start every process in order, each healthy before the next (as `purchase up` does); return seconds."""
        began = time.monotonic()
        for name, spec in self._plan.items():
            spec.env = {**self.env, **spec.env}
            log = (self.log_dir / f"{name}.log").open("a", encoding="utf-8", buffering=1)
            self._logs.append(log)
            process = ManagedProcess(spec, lambda _name, line, log=log: log.write(line))
            self.processes[name] = process
            started = time.monotonic()
            process.start()
            try:
                process.wait_healthy(HEALTH_TIMEOUT_S)
            except (TimeoutError, RuntimeError) as error:
                self.stop()
                tail = (self.log_dir / f"{name}.log").read_text(encoding="utf-8")[-3000:]
                raise LabStartError(f"lab {self.name}: {error}; the end of its log:\n{tail}") from error
            self.started_in_s[name] = time.monotonic() - started
        return time.monotonic() - began

    def pids(self) -> dict[str, list[int]]:
        """Every running process of the lab by service, the gateway's gunicorn workers included."""
        found: dict[str, list[int]] = {}
        for name, process in self.processes.items():
            if process.pid is None or not process.running:
                continue
            try:
                parent = psutil.Process(process.pid)
                found[name] = [parent.pid, *(child.pid for child in parent.children(recursive=True))]
            except psutil.NoSuchProcess:
                continue
        return found

    def gateway_workers(self) -> list[int]:
        """The pids of the gateway's gunicorn workers (the arbiter's children)."""
        return self.pids().get("gateway", [])[1:]

    def stop(self) -> None:
        """Stop every process, the gateway first and Redis last, and close the logs."""
        for process in reversed(list(self.processes.values())):
            process.stop()
        for log in self._logs:
            log.close()
        self._logs.clear()
