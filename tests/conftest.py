"""Fixtures for every suite: free ports, a real Redis, the lab's services as real processes, flag variants."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pytest
import redis

from purchase_lab.config import Ports, Settings
from purchase_lab.flags import FeatureFlags, UserContext, seed_live_file, set_flag
from purchase_lab.ports import free_base_port
from purchase_lab.processes import ManagedProcess
from purchase_lab.topology import GRPC_SERVICES, SERVICES, lab_processes


class Lab:
    """Redis and the services running as real processes on free ports, each logging to a file.

    `replicas` runs N processes of a gRPC service, named `pricing-1` ... `pricing-N` (see topology.py).
    Each gRPC process serves its Prometheus metrics on a free port of its own (see metrics_url).
    """

    def __init__(
        self, log_dir: Path, env: dict[str, str] | None = None, replicas: Mapping[str, int] | None = None
    ) -> None:
        replicas = replicas or {}
        ports = Ports(**{name: free_base_port(replicas.get(name, 1)) for name in SERVICES})
        self.env = {
            **{f"PURCHASE_{name.upper()}_PORT": str(getattr(ports, name)) for name in SERVICES},
            **{
                f"PURCHASE_{name.upper()}_METRICS_PORT": str(free_base_port(replicas.get(name, 1)))
                for name in GRPC_SERVICES
            },
            # Each lab has its own live flag and fault files, never the repo's .run/.
            "PURCHASE_CONTROL_DIR": str(log_dir / "control"),
            "PURCHASE_GATEWAY_WORKERS": "1",
            "PURCHASE_GATEWAY_THREADS": "8",
            # The admin API's bearer token (see admin_token); a test may pass its own in env.
            "PURCHASE_ADMIN_TOKEN": f"test-admin-{uuid.uuid4().hex}",
            **(env or {}),
        }
        self.settings = Settings.from_env(self.env)
        self.log_dir = log_dir
        self.data_dir = log_dir / "redis-data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.plan = {process.name: process for process in lab_processes(self.settings, self.data_dir, replicas)}
        self.processes: dict[str, ManagedProcess] = {}
        self._log_files: dict[str, TextIO] = {}

    @property
    def gateway_url(self) -> str:
        """The gateway's base URL."""
        return f"http://127.0.0.1:{self.settings.ports.gateway}"

    @property
    def admin_token(self) -> str:
        """The bearer token of the gateway's admin API (empty when the lab was started without one)."""
        return self.env["PURCHASE_ADMIN_TOKEN"]

    @property
    def redis_url(self) -> str:
        """The URL of the lab's Redis."""
        return self.settings.redis_url

    def target(self, name: str) -> str:
        """host:port of a gRPC service's process (or of one replica, such as `pricing-2`)."""
        return f"127.0.0.1:{self.plan[name].port}"

    def metrics_url(self, name: str) -> str:
        """Where a process (the gateway, a gRPC service or one replica such as `pricing-2`) serves /metrics."""
        if name == "gateway":
            return f"{self.gateway_url}/metrics"
        planned = self.plan[name]
        variable = f"PURCHASE_{planned.service.upper()}_METRICS_PORT"
        return f"http://127.0.0.1:{planned.spec.env.get(variable) or self.env[variable]}/metrics"

    def names(self, *names: str) -> list[str]:
        """The processes these names mean (a service means every replica of it); all of them when none are named."""
        found = [key for key, planned in self.plan.items() if not names or {key, planned.service} & set(names)]
        if not found:
            raise KeyError(f"no process of this lab is called {names}; it runs {', '.join(self.plan)}")
        return found

    def start(self, *names: str) -> Lab:
        """Start the named processes (all of them when none are named) and wait until each is healthy."""
        for name in self.names(*names):
            spec = self.plan[name].spec
            spec.env = {**self.env, **spec.env}
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


@pytest.fixture(scope="session", autouse=True)
def own_control_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test runs with a control dir of its session, so live flags and faults of a lab running from this
    checkout (in .run/control) never reach the apps and processes the tests start."""
    directory = tmp_path_factory.mktemp("control")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PURCHASE_CONTROL_DIR", str(directory))
        yield directory


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


@pytest.fixture
def flags_path(tmp_path: Path) -> Path:
    """A live flags file of this test's own, seeded from the committed defaults.

    A module whose services run as processes overrides it with their live file, so that
    flag_variants changes the flags those processes evaluate.
    """
    path = tmp_path / "control" / "flags.json"
    seed_live_file(path)
    return path


@dataclass(frozen=True)
class FlagVariant:
    """One run of a test: every flag it applies is on, or every one is off, for everyone."""

    on: bool
    path: Path

    def apply(self, *keys: str) -> bool:
        """Set each flag to this run's value in the live file; return the value."""
        for key in keys:
            set_flag(key, self.on, self.path)
        return self.on


@pytest.fixture(params=[False, True], ids=["flag-off", "flag-on"])
def flag_variants(request: pytest.FixtureRequest, flags_path: Path) -> FlagVariant:
    """Run the test twice, with the flags it applies off and then on: existing features must pass both ways."""
    return FlagVariant(request.param, flags_path)


def flag_reached(
    flags: FeatureFlags, key: str, user: UserContext | None, expected: bool, timeout: float = 2.0
) -> float:
    """Wait until the flag evaluates to expected for the user; return the seconds it took."""
    changed = threading.Event()
    flags.on_change(lambda _keys: changed.set())
    started = time.monotonic()
    while flags.is_enabled(key, user) != expected:
        remaining = timeout - (time.monotonic() - started)
        if remaining <= 0:
            raise TimeoutError(f"{key} did not become {expected} for {user} within {timeout} s")
        changed.wait(remaining)
        changed.clear()
    return time.monotonic() - started


@pytest.fixture(scope="module")
def redis_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redis.Redis]:
    """A real Redis server, started once per test module, and a client that decodes replies."""
    lab = Lab(tmp_path_factory.mktemp("redis")).start("redis")
    client = redis.Redis.from_url(lab.redis_url, decode_responses=True)
    try:
        yield client
    finally:
        client.close()
        lab.stop()
