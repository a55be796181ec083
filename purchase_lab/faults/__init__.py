"""Fault injection for the lab: rules in a live file, applied by gRPC interceptors and a Flask hook.

rules.py says what a rule is, store.py edits the rule file, watcher.py follows it in every process,
engine.py decides per call, interceptors.py and flask_hook.py apply the decision, scenarios.py names
the lab's ready-made failures, replicas.py gives each process of a service its own replica number.
See docs/faults.md.
"""

from __future__ import annotations

from pathlib import Path

from purchase_lab.config import control_dir, replica
from purchase_lab.faults.interceptors import FaultClientInterceptor, FaultServerInterceptor
from purchase_lab.faults.rules import Rule, RuleError
from purchase_lab.faults.scenarios import SCENARIOS, UnknownScenario
from purchase_lab.faults.store import FaultFileError, FaultStore, UnknownRule, faults_path
from purchase_lab.faults.watcher import RuleWatcher, StaticRules


def watch_rules(directory: Path | None = None, acknowledge: bool = False) -> RuleWatcher:
    """Start following faults.json in the control directory (the configured one when none is given).

    With acknowledge, each version applied is recorded in this process's ack file (see purchase_lab/acks.py).
    """
    return RuleWatcher(faults_path(directory), acknowledge=acknowledge).start()


__all__ = [
    "SCENARIOS",
    "FaultClientInterceptor",
    "FaultFileError",
    "FaultServerInterceptor",
    "FaultStore",
    "Rule",
    "RuleError",
    "RuleWatcher",
    "StaticRules",
    "UnknownRule",
    "UnknownScenario",
    "control_dir",
    "faults_path",
    "replica",
    "watch_rules",
]
