"""Every process follows the rule file: changes arrive within a second, and a damaged file changes nothing."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from purchase_lab.faults import watch_rules
from purchase_lab.faults.store import FaultStore
from purchase_lab.faults.watcher import RuleWatcher

pytestmark = pytest.mark.unit


@pytest.fixture
def store(tmp_path: Path) -> FaultStore:
    return FaultStore(tmp_path / "control")


@pytest.fixture
def watcher(store: FaultStore) -> Iterator[RuleWatcher]:
    with RuleWatcher(store.path) as following:
        yield following


def wait_for(condition: Callable[[], bool], timeout: float = 2.0) -> float:
    """Seconds until condition() holds; fails after timeout."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, "the watcher did not see the change"
        time.sleep(0.005)
    return time.monotonic() - start


def test_a_missing_file_means_no_rules(watcher: RuleWatcher) -> None:
    assert watcher.rules == ()


def test_rules_that_exist_at_start_are_active_at_once(store: FaultStore) -> None:
    rule = store.add_rule(service="cart", error="INTERNAL")
    following = watch_rules(store.directory)
    try:
        assert following.rules == (rule,)
    finally:
        following.stop()


def test_a_change_reaches_the_watcher_well_within_a_second(store: FaultStore, watcher: RuleWatcher) -> None:
    rule = store.add_rule(service="pricing", error="UNAVAILABLE")
    assert wait_for(lambda: watcher.rules == (rule,)) < 1.0
    store.clear()
    assert wait_for(lambda: watcher.rules == ()) < 1.0


def test_a_damaged_file_is_logged_and_the_last_good_rules_stay(
    store: FaultStore, watcher: RuleWatcher, caplog: pytest.LogCaptureFixture
) -> None:
    rule = store.add_rule(service="pricing", error="UNAVAILABLE")
    wait_for(lambda: watcher.rules == (rule,))
    with caplog.at_level(logging.ERROR):
        store.path.write_text('{"rules": [{"service": "pricing"')
        wait_for(lambda: "is not valid JSON" in caplog.text)
    assert "keeping the 1 rule(s) loaded before" in caplog.text
    assert watcher.rules == (rule,)
    store.reset()
    wait_for(lambda: watcher.rules == ())


def test_a_deleted_file_means_no_rules(store: FaultStore, watcher: RuleWatcher) -> None:
    store.add_rule(service="email", error="INTERNAL")
    wait_for(lambda: watcher.rules != ())
    store.path.unlink()
    wait_for(lambda: watcher.rules == ())


def test_a_rule_drops_out_when_it_expires_without_any_write(store: FaultStore) -> None:
    now = [1_000_000.0]
    FaultStore(store.directory, clock=lambda: now[0]).add_rule(service="cart", error="INTERNAL", ttl_s=5)
    watcher = RuleWatcher(store.path, clock=lambda: now[0])
    watcher.refresh()
    assert len(watcher.rules) == 1
    now[0] += 5
    watcher.refresh()
    assert watcher.rules == ()


def test_stop_ends_the_thread(store: FaultStore) -> None:
    before = set(threading.enumerate())  # other tests' apps may still have watchers of their own
    watcher = RuleWatcher(store.path).start()
    started = [thread for thread in set(threading.enumerate()) - before if thread.name == "fault-rule-watcher"]
    assert len(started) == 1

    watcher.stop()

    assert not started[0].is_alive()


FORKED_CHILD = """
import os, sys, time
from pathlib import Path
from purchase_lab.faults import FaultStore, watch_rules

store = FaultStore(Path(sys.argv[1]))
watcher = watch_rules(store.directory)
pid = os.fork()  # as gunicorn does when the app is loaded before its workers start
if pid == 0:
    store.add_rule(service="gateway", error=503)
    deadline = time.monotonic() + 2
    while not watcher.rules and time.monotonic() < deadline:
        time.sleep(0.01)
    os._exit(0 if watcher.rules else 1)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_a_forked_worker_keeps_following_the_file(store: FaultStore) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", FORKED_CHILD, str(store.directory)], capture_output=True, text=True, timeout=20
    )
    assert finished.returncode == 0, finished.stderr
