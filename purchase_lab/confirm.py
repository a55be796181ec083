"""Controls that confirm: wait until every running process applies a change, refuse rules no process can apply.

`purchase fault|flag|scenario|reset` and the admin API write a live file, then call wait_for_faults or
wait_for_flags, which return once each running process has acknowledged the file's current version (see
acks.py), with how long that took.
"""

from __future__ import annotations

from pathlib import Path

from purchase_lab.acks import WAIT_TIMEOUT_S, Applied, document_version, running_replicas, text_version, wait_applied
from purchase_lab.config import control_dir
from purchase_lab.faults import RuleError, faults_path
from purchase_lab.flags import InvalidFlagsFile, read_document


def faults_version(directory: Path | None = None) -> str:
    """The version of the rule file as it is now."""
    try:
        return text_version(faults_path(directory).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return text_version(None)


def flags_version(live: Path) -> str | None:
    """The version of the live flags file as it is now; None while it is invalid (no process can apply it)."""
    try:
        return document_version(read_document(live))
    except InvalidFlagsFile:
        return None


def wait_for_faults(directory: Path | None = None, timeout: float = WAIT_TIMEOUT_S) -> Applied:
    """Wait until every running process follows the rule file as it is now."""
    return wait_applied("faults", lambda: faults_version(directory), directory, timeout)


def wait_for_flags(live: Path, timeout: float = WAIT_TIMEOUT_S) -> Applied:
    """Wait until every running process that evaluates flags serves the live file at `live` as it is now."""
    return wait_applied("flags", lambda: flags_version(live), live.parent, timeout)


def check_replica_runs(service: str, replica: object, directory: Path | None = None) -> None:
    """Refuse a rule for a replica of service that no running process is, naming the replicas that run."""
    try:
        number = int(str(replica))
    except ValueError:
        return  # the rule's own check says what is wrong with the value
    runs = running_replicas(service, directory)
    if number in runs:
        return
    where = directory or control_dir()
    if runs:
        listed = ", ".join(str(each) for each in runs)
        problem = f"replica={number}: {service} replica {number} is not running; running replicas: {listed}"
    else:
        problem = f"replica={number}: no {service} process is running (none acknowledged in {where}); start it first"
    raise RuleError([problem])
