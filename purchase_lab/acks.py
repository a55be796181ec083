"""Each lab process says which version of the fault rules and flags it has applied, in <control dir>/acks/.

A control (`purchase fault|flag|scenario|reset`, the admin API) writes a live file, then waits until every
running process has acknowledged the file's version: each process keeps one JSON file here, rewritten
whenever it applies a new version, and holds an fcntl lock on a sibling `.lock` file for its whole life.
The kernel releases that lock when the process exits or is killed, so a file whose lock is free belongs to
a process that is gone and is removed. Names carry a random token, not the pid, because containers sharing
the control volume under compose all have small pids.

A version is a short digest: of the rule file's text for faults, of the parsed document for flags (so that
reformatting the same flags keeps their version).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from purchase_lab.config import control_dir

log = logging.getLogger(__name__)

FOLDER = "acks"
NO_FILE = "none"
# How long a control waits for every process by default, and how often it looks.
WAIT_TIMEOUT_S = 5.0
POLL_S = 0.01


def text_version(text: str | None) -> str:
    """The version of a live file's text (`none` when the file does not exist)."""
    return hashlib.sha256(text.encode()).hexdigest()[:12] if text is not None else NO_FILE


def document_version(document: Any) -> str:
    """The version of a parsed flags document: the same flags give the same version however they are laid out."""
    return text_version(json.dumps(document, sort_keys=True, separators=(",", ":")))


def folder(directory: Path | None = None) -> Path:
    """The acks folder of a control dir (the configured one when none is given)."""
    return (directory or control_dir()) / FOLDER


@dataclass(frozen=True)
class Ack:
    """What one running process has applied. flags is None for a process that evaluates no flags."""

    service: str
    replica: int
    pid: int
    faults: str | None
    flags: str | None
    flags_source: str | None  # live, last-good, or none (NOT_SERVING)
    problem: str

    @property
    def label(self) -> str:
        """`pricing-2 (pid 123)`."""
        return f"{self.service}-{self.replica} (pid {self.pid})"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Ack:
        """Read one ack file's content."""
        return cls(
            str(data["service"]),
            int(data["replica"]),
            int(data["pid"]),
            data.get("faults"),
            data.get("flags"),
            data.get("flags_source"),
            str(data.get("problem") or ""),
        )


class ProcessAcks:
    """This process's ack file: written once the process knows who it is, rewritten on every change."""

    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {}
        self._identity: dict[str, Any] | None = None
        self._path: Path | None = None
        self._held: TextIO | None = None
        self._listeners: list[Callable[[str], None]] = []

    def identify(self, service: str, replica: int) -> None:
        """Say which process this is, lock a new ack file for it and write what has been applied so far."""
        where = folder(self._directory)
        try:
            where.mkdir(parents=True, exist_ok=True)
            name = f"{service}-{replica}-{secrets.token_hex(4)}"
            held = (where / f"{name}.lock").open("a")
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            log.warning("cannot acknowledge control changes in %s (%s); controls will not wait for us", where, error)
            return
        with self._lock:
            self._identity = {"service": service, "replica": replica, "pid": os.getpid()}
            self._held, self._path = held, where / f"{name}.json"
            self._write()

    def record(self, **state: Any) -> None:
        """Merge state (faults=version, flags=version, ...) into the ack and rewrite the file."""
        with self._lock:
            self._state.update(state)
            self._write()
            problem = str(self._state.get("problem") or "")
        for listener in list(self._listeners):
            listener(problem)

    def on_problem(self, listener: Callable[[str], None]) -> None:
        """Call listener(problem) after every record; problem is empty while the process can serve."""
        self._listeners.append(listener)
        with self._lock:
            problem = str(self._state.get("problem") or "")
        listener(problem)

    @property
    def problem(self) -> str:
        """Why this process cannot serve ('' when it can)."""
        with self._lock:
            return str(self._state.get("problem") or "")

    def close(self) -> None:
        """Remove the ack file and release its lock (the process exiting does the same)."""
        with self._lock:
            if self._path is not None:
                with contextlib.suppress(FileNotFoundError):
                    self._path.unlink()
                with contextlib.suppress(FileNotFoundError):
                    self._path.with_suffix(".lock").unlink()
            if self._held is not None:
                self._held.close()
            self._identity = self._path = self._held = None

    def _write(self) -> None:
        if self._identity is None or self._path is None:
            return
        text = json.dumps({**self._identity, **self._state})
        handle, temporary = tempfile.mkstemp(dir=self._path.parent, prefix=".ack-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(text)
            os.replace(temporary, self._path)
        except OSError as error:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            log.warning("cannot write %s (%s); controls may wait for us in vain", self._path, error)


class _ThisProcess:
    """The one ProcessAcks of the running process, and the pid it was made in."""

    lock = threading.Lock()
    pid = 0
    acks = ProcessAcks()


def process_acks() -> ProcessAcks:
    """The ack file of this process: one per process, so the rule watcher and the flags report to the same one.

    Made again after a fork, so a gunicorn worker keeps its own rather than writing its parent's.
    """
    with _ThisProcess.lock:
        if _ThisProcess.pid != os.getpid():
            _ThisProcess.pid, _ThisProcess.acks = os.getpid(), ProcessAcks()
        return _ThisProcess.acks


def running(directory: Path | None = None) -> list[Ack]:
    """What every running process of the lab has applied; files of processes that are gone are removed."""
    where = folder(directory)
    try:
        names = sorted(path for path in where.iterdir() if path.suffix == ".json")
    except FileNotFoundError:
        return []
    acks = []
    for path in names:
        if not _alive(path.with_suffix(".lock")):
            for stale in (path, path.with_suffix(".lock")):
                with contextlib.suppress(FileNotFoundError):
                    stale.unlink()
            continue
        try:
            acks.append(Ack.from_dict(json.loads(path.read_text(encoding="utf-8"))))
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            continue  # it exited between the lock check and the read, or is being replaced
    return acks


def _alive(lock_path: Path) -> bool:
    """True while a process holds the lock (it cannot be taken now)."""
    try:
        descriptor = os.open(lock_path, os.O_RDONLY)  # never create it: a missing lock means a process that is gone
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


def running_replicas(service: str, directory: Path | None = None) -> list[int]:
    """The replica numbers of the service's running processes, in order."""
    return sorted({ack.replica for ack in running(directory) if ack.service == service})


@dataclass(frozen=True)
class Applied:
    """How a wait for acknowledgements ended: how long it took, who applied the change, who did not."""

    seconds: float
    acknowledged: tuple[Ack, ...]
    missing: tuple[Ack, ...]

    @property
    def complete(self) -> bool:
        """True when every running process applied the change."""
        return not self.missing

    def summary(self, what: str) -> str:
        """One line for a person."""
        if self.complete:
            count = len(self.acknowledged)
            return f"{what} applied by {count} running process{'es' if count != 1 else ''} in {self.seconds:.2f} s"
        late = ", ".join(ack.label for ack in self.missing)
        return f"{what} written, but not applied after {self.seconds:.1f} s by: {late}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form for the admin API."""
        return {
            "acknowledged": self.complete,
            "seconds": round(self.seconds, 3),
            "processes": len(self.acknowledged) + len(self.missing),
            "missing": [ack.label for ack in self.missing],
        }


def wait_applied(
    field: str, version_now: Callable[[], str | None], directory: Path | None = None, timeout: float = WAIT_TIMEOUT_S
) -> Applied:
    """Wait until every running process that follows field (faults or flags) has applied version_now().

    The version is read again on every poll, so a change written by someone else meanwhile is waited for too.
    A process that follows nothing of the kind (flags None: it evaluates no flags) is left out.
    """
    began = time.monotonic()
    while True:
        target = version_now()
        following = [ack for ack in running(directory) if getattr(ack, field) is not None]
        missing = tuple(ack for ack in following if getattr(ack, field) != target)
        elapsed = time.monotonic() - began
        if not missing or elapsed >= timeout:
            return Applied(elapsed, tuple(ack for ack in following if ack not in missing), missing)
        time.sleep(POLL_S)


@dataclass(frozen=True)
class FlagAgreement:
    """Which flags version each running process serves, and whether the lab is of one mind."""

    versions: dict[str, tuple[str, ...]]  # version (`none`: no valid flags) -> the processes serving it
    problems: tuple[str, ...]

    @property
    def agree(self) -> bool:
        """True when every process that evaluates flags serves the same version."""
        return len(self.versions) <= 1 and NO_FILE not in self.versions

    def summary(self) -> str:
        """One line for a person: the version everyone serves, or who serves what."""
        if not self.versions:
            return "flags: no running process evaluates flags"
        if self.agree:
            return f"flags: every process serves version {next(iter(self.versions))}"
        served = "; ".join(f"{version} by {', '.join(labels)}" for version, labels in self.versions.items())
        why = f" ({'; '.join(self.problems)})" if self.problems else ""
        return (
            f"warning: the lab's processes disagree on the flags: {served}{why}; fix the live flags file "
            "or run `purchase reset`, and restart a process that serves none"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form for /healthz and `purchase status --json`."""
        return {
            "agree": self.agree,
            "versions": {version: list(labels) for version, labels in self.versions.items()},
            "problems": list(self.problems),
            "summary": self.summary(),
        }


def flag_agreement(acks: list[Ack]) -> FlagAgreement:
    """Compare the flags versions the running processes serve (processes that evaluate none are left out)."""
    versions: dict[str, list[str]] = {}
    problems = []
    for ack in acks:
        if ack.flags is None:
            continue
        versions.setdefault(ack.flags, []).append(ack.label)
        if ack.problem:
            problems.append(f"{ack.label}: {ack.problem}")
    return FlagAgreement({version: tuple(labels) for version, labels in versions.items()}, tuple(problems))
