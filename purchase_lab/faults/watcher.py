"""Keep a process's active fault rules in memory, following changes to faults.json within ~100 ms."""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from purchase_lab.acks import process_acks, text_version
from purchase_lab.faults.rules import Rule
from purchase_lab.faults.store import FaultFileError, parse_rules

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1


class RuleSource(Protocol):
    """Anything holding the active rules; the hot path reads `rules` and nothing else."""

    rules: tuple[Rule, ...]


class StaticRules:
    """Rules held in memory without a file, for tests that inject faults directly."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self.rules = tuple(rules)

    def set(self, *rules: Rule) -> None:
        """Replace the active rules."""
        self.rules = tuple(rules)


class RuleWatcher:
    """The active rules of one faults.json, re-read by a daemon thread whenever the file changes.

    `rules` is an empty tuple when nothing is active, so a call through the fault layer costs one check.
    A missing file means no rules; a damaged one is logged and the last good rules stay in force.
    `version` is the version of the file last applied (see purchase_lab/acks.py); with `acknowledge`, each
    new version is recorded in this process's ack file once its rules are in force, so controls can wait for it.
    """

    def __init__(
        self,
        path: Path,
        poll_seconds: float = POLL_SECONDS,
        clock: Callable[[], float] = time.time,
        acknowledge: bool = False,
    ) -> None:
        self.path = path
        self.rules: tuple[Rule, ...] = ()
        self.version: str | None = None
        self._acknowledge = acknowledge
        self._loaded: tuple[Rule, ...] = ()
        # Never a real file's identity, so the first refresh reads (and acknowledges) even a missing file.
        self._signature: tuple[int, int, int] | None = (-1, -1, -1)
        self._poll_seconds = poll_seconds
        self._clock = clock
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> RuleWatcher:
        """Load the file now, then follow it from a daemon thread (restarted in a forked child)."""
        self.refresh()
        self._spawn()
        watcher = weakref.ref(self)

        def restart_in_child() -> None:
            alive = watcher()
            if alive is not None and not alive._stopping.is_set():
                alive._spawn()

        os.register_at_fork(after_in_child=restart_in_child)
        return self

    def stop(self) -> None:
        """Stop following the file; the rules loaded last stay as they are."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def __enter__(self) -> RuleWatcher:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def refresh(self) -> None:
        """Re-read the file if it changed, and drop rules that have expired since the last look."""
        try:
            status = os.stat(self.path)
            signature: tuple[int, int, int] | None = (status.st_ino, status.st_mtime_ns, status.st_size)
        except FileNotFoundError:
            signature = None
        version = self.version
        if signature != self._signature:
            # Take the identity again from the file actually read, so a write in between is seen next time.
            self._signature, text = self._read()
            if self._load(text):
                version = text_version(text)
        now = self._clock()
        active = tuple(rule for rule in self._loaded if rule.active(now))
        if active != self.rules:
            self.rules = active
            log.info("fault rules active: %s", ", ".join(rule.id for rule in active) or "none")
        if version != self.version:
            self.version = version  # only now: the new rules are in force
            if self._acknowledge:
                process_acks().record(faults=version)

    def _read(self) -> tuple[tuple[int, int, int] | None, str | None]:
        """The file's identity (inode, mtime, size) and text, taken from one open file; (None, None) if missing."""
        try:
            with self.path.open(encoding="utf-8", errors="replace") as file:
                status = os.fstat(file.fileno())
                return (status.st_ino, status.st_mtime_ns, status.st_size), file.read()
        except FileNotFoundError:
            return None, None

    def _load(self, text: str | None) -> bool:
        """Take the rules of text (none when the file is missing); False when it is damaged."""
        if text is None:
            self._loaded = ()
            return True
        try:
            self._loaded = parse_rules(text, self.path)
        except FaultFileError as error:
            log.error("%s; keeping the %d rule(s) loaded before", error, len(self._loaded))
            return False
        return True

    def _spawn(self) -> None:
        self._thread = threading.Thread(target=self._follow, name="fault-rule-watcher", daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        while not self._stopping.wait(self._poll_seconds):
            try:
                self.refresh()
            except Exception:
                # The thread must outlive any surprise (a permission change, a disk error), or the
                # process would keep stale rules forever without saying so.
                log.exception("could not re-read %s; keeping the rules loaded before", self.path)
