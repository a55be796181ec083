"""`purchase load` stops with every child and leaves no fault behind, whatever signal ends it (issue 21, 23)."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from purchase_lab.faults import FaultStore
from purchase_lab.health import http_ok, wait_until
from purchase_lab.lab_reset import reset_lab
from purchase_lab.ports import free_port
from tests.conftest import Lab

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PURCHASE = [str(ROOT / ".venv" / "bin" / "purchase")]
# A shell that ignores SIGINT and SIGHUP, as a background job of a script and nohup leave them.
IGNORING = ["bash", "-c", 'trap "" INT HUP; exec "$@"', "bash"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The whole system, with deadlines long enough that a busy machine never degrades a checkout."""
    deadlines = {f"PURCHASE_{name}_DEADLINE_MS": "3000" for name in ("CART", "PRICING", "EMAIL")}
    system = Lab(tmp_path_factory.mktemp("load-signals"), env=deadlines)
    try:
        yield system.start()
    finally:
        system.stop()


@pytest.fixture
def store(lab: Lab) -> Iterator[FaultStore]:
    """The lab's fault rules; the test starts and ends with none."""
    directory = Path(lab.env["PURCHASE_CONTROL_DIR"])
    reset_lab(directory)
    yield FaultStore(directory)
    reset_lab(directory)


def descendants(process: subprocess.Popen[str]) -> list[psutil.Process]:
    """Every process below `process` (locust, its workers)."""
    return psutil.Process(process.pid).children(recursive=True)


def gone(process: psutil.Process) -> bool:
    """True once the process has ended (a zombie counts as ended)."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def ignored_signals(pid: int) -> int:
    """The mask of signals a process ignores, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigIgn:")), 16)


def mask(signum: int) -> int:
    """The bit of a signal in a /proc signal mask."""
    return 1 << (signum - 1)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL], ids=lambda s: s.name)
def test_a_signal_to_purchase_load_leaves_no_locust_and_no_fault_rule(
    lab: Lab, store: FaultStore, tmp_path: Path, signum: signal.Signals
) -> None:
    command = [
        *PURCHASE,
        *("load", "--chaos", "all", "--seed", "3", "--duration", "60", "--users", "2", "--think-time", "0.3"),
        *("--no-check", "--out", str(tmp_path / "run")),
    ]
    with subprocess.Popen(
        [*IGNORING, *command], cwd=tmp_path, env={**os.environ, **lab.env}, stdout=subprocess.PIPE, text=True
    ) as load:
        try:
            wait_until(lambda: bool(store.list_rules()), "the chaos schedule injecting a fault", timeout=45)
            children = descendants(load)
            assert children, "purchase load runs no child"
            assert all(
                ignored_signals(child.pid) & (mask(signal.SIGINT) | mask(signal.SIGHUP)) == 0 for child in children
            )

            load.send_signal(signum)
            code = load.wait(timeout=60)
            psutil.wait_procs(children, timeout=30)
        finally:
            if load.poll() is None:
                load.kill()

    assert [child.pid for child in children if not gone(child)] == []
    assert store.list_rules() == []
    assert code == (128 + signum if signum != signal.SIGKILL else -signal.SIGKILL)
    if signum != signal.SIGKILL:
        assert (tmp_path / "run" / "summary.json").exists()  # the run stopped cleanly and wrote its report


def test_purchase_load_ui_started_with_sigint_ignored_still_stops_on_it(lab: Lab, tmp_path: Path) -> None:
    port = free_port()
    command = [*IGNORING, *PURCHASE, "load", "--ui", "--web-port", str(port)]
    with subprocess.Popen(
        command, cwd=tmp_path, env={**os.environ, **lab.env}, stdout=subprocess.PIPE, text=True
    ) as ui:
        try:
            wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/"), "locust's web UI", timeout=30)
            children = descendants(ui)
            assert children
            assert all(ignored_signals(child.pid) & mask(signal.SIGINT) == 0 for child in children)

            ui.send_signal(signal.SIGINT)
            code = ui.wait(timeout=30)
            psutil.wait_procs(children, timeout=30)
        finally:
            if ui.poll() is None:
                ui.kill()

    assert code == 128 + signal.SIGINT
    assert [child.pid for child in children if not gone(child)] == []
