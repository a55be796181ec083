"""`purchase up` started from a shell that ignores SIGINT and SIGHUP: its children do not, and SIGHUP stops it all."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import psutil
import pytest

from purchase_lab.health import wait_until
from tests.cli.conftest import PURCHASE, ROOT, STARTUP_TIMEOUT, RunningLab, gone

pytestmark = pytest.mark.e2e

# How a background job of a script, or nohup, leaves these signals.
IGNORING = ["bash", "-c", 'trap "" INT HUP; exec "$@"', "bash"]
# How the lab's service processes show in a process list.
SERVICE_NAMES = ("services.", "gunicorn:")


def ignored_signals(pid: int) -> int:
    """The mask of signals a process ignores, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigIgn:")), 16)


def test_sighup_stops_a_lab_started_with_it_ignored_and_every_child_can_be_stopped(new_lab: RunningLab) -> None:
    with new_lab.log_path.open("wb") as log:
        new_lab.process = subprocess.Popen(
            [*IGNORING, *PURCHASE, "up"], cwd=ROOT, env=new_lab.env, stdout=log, stderr=log
        )
    wait_until(new_lab.all_healthy, "purchase up", STARTUP_TIMEOUT, new_lab.supervising)
    children = new_lab.descendants()
    # gunicorn retitles the gateway's processes ("gunicorn: worker [...]") when setproctitle is installed.
    services = [child for child in children if any(name in " ".join(child.cmdline()) for name in SERVICE_NAMES)]
    stop_signals = (1 << (signal.SIGINT - 1)) | (1 << (signal.SIGHUP - 1))

    assert len(services) >= 4  # cart, pricing, email, the gateway's master and workers
    assert [child.pid for child in services if ignored_signals(child.pid) & stop_signals] == []

    code = new_lab.stop(signal.SIGHUP)
    psutil.wait_procs(children, timeout=30)

    assert code == 0, new_lab.output()
    assert "received SIGHUP; stopping every process" in new_lab.output()
    assert [child.pid for child in children if not gone(child)] == []
