"""Fixtures for every suite: free ports, a real Redis, and the lab's services as real processes."""

from __future__ import annotations

import os
import random
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest

from purchase_lab.config import Ports, Settings
from purchase_lab.processes import ManagedProcess
from purchase_lab.topology import SERVICES, process_spec

_used_ports: set[int] = set()


def free_port() -> int:
    """Return a port below the ephemeral range (32768) that nothing listens on, never the same twice."""
    while True:
        port = random.randint(20000, 32000)
        if port in _used_ports:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _used_ports.add(port)
        return port


class Lab:
    """Redis and the services running as real processes on free ports, each logging to a file."""

    def __init__(self, log_dir: Path, env: dict[str, str] | None = None) -> None:
        ports = Ports(**{name: free_port() for name in SERVICES})
        self.env = {
            **{f"PURCHASE_{name.upper()}_PORT": str(getattr(ports, name)) for name in SERVICES},
            # Each lab has its own live flag and fault files, never the repo's .run/.
            "PURCHASE_CONTROL_DIR": str(log_dir / "control"),
            "PURCHASE_GATEWAY_WORKERS": "1",
            "PURCHASE_GATEWAY_THREADS": "8",
            **(env or {}),
        }
        self.settings = Settings.from_env(self.env)
        self.log_dir = log_dir
        self.data_dir = log_dir / "redis-data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.processes: dict[str, ManagedProcess] = {}
        self._log_files: dict[str, TextIO] = {}

    @property
    def gateway_url(self) -> str:
        """The gateway's base URL."""
        return f"http://127.0.0.1:{self.settings.ports.gateway}"

    @property
    def redis_url(self) -> str:
        """The URL of the lab's Redis."""
        return self.settings.redis_url

    def target(self, name: str) -> str:
        """host:port of a gRPC service."""
        return f"127.0.0.1:{getattr(self.settings.ports, name)}"

    def start(self, *names: str) -> Lab:
        """Start the named processes (all of them when none are named) and wait until each is healthy."""
        for name in names or SERVICES:
            spec = process_spec(name, self.settings, self.data_dir)
            spec.env = self.env
            if name not in self._log_files:  # line-buffered, so logs() shows what was printed so far
                self._log_files[name] = (self.log_dir / f"{name}.log").open("a", encoding="utf-8", buffering=1)
            log = self._log_files[name]
            process = self.processes.get(name) or ManagedProcess(spec, lambda _n, line, log=log: log.write(line))
            self.processes[name] = process
            process.start()
            try:
                process.wait_healthy(timeout=20)
            except (TimeoutError, RuntimeError) as error:
                log.flush()
                raise RuntimeError(f"{error}\n--- {name} log ---\n{self.logs(name)}") from error
        return self

    def logs(self, name: str) -> str:
        """Everything the named process has printed so far."""
        path = self.log_dir / f"{name}.log"
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def stop(self) -> None:
        """Stop every process, the gateway first and Redis last."""
        for name in reversed(list(self.processes)):
            self.processes[name].stop()
        for log in self._log_files.values():
            log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The whole system, started once per test module."""
    system = Lab(tmp_path_factory.mktemp("lab"))
    try:
        yield system.start()
    finally:
        system.stop()


@pytest.fixture
def user_id() -> str:
    """A user id no other test uses, so tests never see each other's carts and orders."""
    return f"u-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def in_ci() -> bool:
    """True under CI, where nothing may be skipped for a missing tool."""
    return os.environ.get("CI") == "true"
