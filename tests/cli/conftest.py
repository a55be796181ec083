"""A real `purchase up` in a subprocess, on free ports with its own run dir, and `purchase` commands against it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import psutil
import pytest

from purchase_lab.health import wait_until
from purchase_lab.ports import free_base_port
from purchase_lab.topology import GRPC_SERVICES, SERVICES

ROOT = Path(__file__).resolve().parents[2]
_SCRIPT = Path(sys.executable).parent / "purchase"
# The installed entry point when there is one, so the tests cover it too.
PURCHASE = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "purchase_lab.cli"]
STARTUP_TIMEOUT = 60.0


class RunningLab:
    """`purchase up` (with `--replicas` when given) running in the background, its output collected in a file."""

    def __init__(self, directory: Path, replicas: Mapping[str, int] | None = None) -> None:
        self.replicas = dict(replicas or {})
        self.ports = {name: free_base_port(self.replicas.get(name, 1)) for name in SERVICES}
        self.run_dir = directory / "run"
        self.env = {
            **os.environ,
            **{f"PURCHASE_{name.upper()}_PORT": str(port) for name, port in self.ports.items()},
            # Metrics ports too: the defaults would collide with a lab a developer has running.
            **{
                f"PURCHASE_{name.upper()}_METRICS_PORT": str(free_base_port(self.replicas.get(name, 1)))
                for name in GRPC_SERVICES
            },
            "PURCHASE_RUN_DIR": str(self.run_dir),
            # Where `purchase up` keeps live flags and faults by default; set, since the test session sets its own.
            "PURCHASE_CONTROL_DIR": str(self.run_dir / "control"),
            "PURCHASE_GATEWAY_WORKERS": "1",
        }
        self.log_path = directory / "up.log"
        self.process: subprocess.Popen[bytes] | None = None

    def launch(self) -> subprocess.Popen[bytes]:
        """Run `purchase up` in the background and return its process."""
        with self.log_path.open("wb") as log:
            replicas = [f"--replicas={service}={count}" for service, count in self.replicas.items()]
            self.process = subprocess.Popen(
                [*PURCHASE, "up", *replicas], cwd=ROOT, env=self.env, stdout=log, stderr=log
            )
        return self.process

    def start(self) -> RunningLab:
        """Run `purchase up` and wait until `purchase status` says every process is healthy."""
        self.launch()
        try:
            wait_until(self.all_healthy, "purchase up", STARTUP_TIMEOUT, self.supervising)
        except (TimeoutError, RuntimeError) as error:
            raise RuntimeError(f"{error}; it printed:\n{self.output()}") from error
        return self

    def supervising(self) -> bool:
        """True while `purchase up` runs."""
        return self.process is not None and self.process.poll() is None

    def purchase(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run one `purchase` command against this lab."""
        return subprocess.run(
            [*PURCHASE, *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=90, check=False
        )

    def status(self) -> dict[str, dict[str, Any]]:
        """`purchase status --json`, as a mapping from process name to its status."""
        result = self.purchase("status", "--json")
        assert result.returncode in (0, 3), result.stderr
        return {process["name"]: process for process in json.loads(result.stdout)["processes"]}

    def all_healthy(self) -> bool:
        """True when every process is running and passes its health check."""
        result = self.purchase("status", "--json")
        return result.returncode == 0

    def output(self) -> str:
        """Everything `purchase up` has printed so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def descendants(self) -> list[psutil.Process]:
        """Every process the supervisor started, with their own children (gunicorn's workers)."""
        assert self.process is not None
        return psutil.Process(self.process.pid).children(recursive=True)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        """Send the supervisor a signal and return its exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.process.wait(timeout)


def gone(process: psutil.Process) -> bool:
    """True when the process has ended (a zombie waiting to be reaped counts as ended)."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def shut_down(lab: RunningLab) -> None:
    """Stop a lab a test left running, fail if it does not stop cleanly, and kill anything it left behind."""
    if not lab.supervising():
        return
    children = lab.descendants()
    code = lab.stop()
    leftovers = [child for child in children if not gone(child)]
    for child in leftovers:
        child.kill()
    assert code == 0, f"purchase up exited with {code}:\n{lab.output()}"
    assert leftovers == [], f"purchase up left processes behind:\n{lab.output()}"


@pytest.fixture
def new_lab(tmp_path: Path) -> Iterator[RunningLab]:
    """A lab, not started yet, on its own free ports and run dir; stopped after the test if still running."""
    lab = RunningLab(tmp_path)
    yield lab
    shut_down(lab)


@pytest.fixture(scope="module")
def running_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    """One running lab shared by a test module."""
    lab = RunningLab(tmp_path_factory.mktemp("cli-lab"))
    try:
        yield lab.start()
    finally:
        shut_down(lab)


@pytest.fixture
def healthy_lab(running_lab: RunningLab) -> RunningLab:
    """The shared lab with every process running again, whatever the previous test stopped or killed."""
    for name, process in running_lab.status().items():
        if process["state"] != "running":
            result = running_lab.purchase("start", name)
            assert result.returncode == 0, result.stderr
    return running_lab
