"""Integration test: a flag change reaches other real OS processes, each evaluating the live file, within 1 s."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from purchase_lab.flags import LOYALTY_DISCOUNT, kill, set_flag

pytestmark = pytest.mark.integration
logger = logging.getLogger(__name__)

WATCHER = Path(__file__).with_name("flag_watcher.py")
REPO = Path(__file__).resolve().parents[2]
STEPS = [
    ("on", lambda path: set_flag(LOYALTY_DISCOUNT, "on", path)),
    ("off", lambda path: kill(LOYALTY_DISCOUNT, path)),
]


@pytest.fixture
def watchers(flags_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    """Two processes evaluating the loyalty flag for one user, each reporting when it sees the next value."""
    expected = ",".join(value for value, _change in STEPS)
    command = [sys.executable, str(WATCHER), str(flags_path), LOYALTY_DISCOUNT, "u-propagation", expected]
    processes = [
        subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    try:
        for process in processes:
            assert process.stdout.readline() == "ready\n", process.stderr.read()
        yield processes
    finally:
        for process in processes:
            process.kill()
            process.communicate()


def test_each_change_reaches_every_process_within_a_second(
    flags_path: Path, watchers: list[subprocess.Popen[str]]
) -> None:
    delays = []
    for _value, change in STEPS:
        changed_at = time.time()
        change(flags_path)
        delays += [float(process.stdout.readline()) - changed_at for process in watchers]
    logger.info("propagation to %d processes, in seconds: %s", len(watchers), [round(d, 3) for d in delays])

    assert max(delays) < 1.0
