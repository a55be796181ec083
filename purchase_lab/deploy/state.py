"""A deploy's state in the run dir, so `purchase deploy status`, the console and a second terminal all see it.

`deploy/state.json` holds the deploy in progress or the last one: service, releases, strategy, phase,
every progress line and the last gate decision. `deploy/releases.json` remembers each service's previous
release, for `purchase rollback`.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

STATE_FILE = "state.json"
HISTORY_FILE = "releases.json"
# Phases a deploy ends in; any other phase means it is in progress.
FINAL_PHASES = ("succeeded", "failed", "aborted", "interrupted")


def deploy_dir(run_dir: Path) -> Path:
    """Where deploy state lives in a run dir."""
    return run_dir / "deploy"


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)


def read_state(run_dir: Path) -> dict[str, Any] | None:
    """The deploy in progress or the last one; None when this lab never deployed."""
    try:
        return json.loads((deploy_dir(run_dir) / STATE_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


class DeployRecord:
    """The state of one deploy, written to the run dir at every step."""

    def __init__(self, run_dir: Path, **fields: Any) -> None:
        self.path = deploy_dir(run_dir) / STATE_FILE
        self.data: dict[str, Any] = {**fields, "phase": "running", "started": time.time(), "events": [], "gate": None}
        self._save()

    def event(self, message: str) -> None:
        """Add one progress line."""
        self.data["events"].append({"time": time.time(), "message": message})
        self._save()

    def gate(self, decision: dict[str, Any]) -> None:
        """Record the last gate decision."""
        self.data["gate"] = decision
        self._save()

    def finish(self, phase: str, summary: str) -> None:
        """End the deploy in `phase` with a one-line summary."""
        self.data.update(phase=phase, summary=summary, ended=time.time())
        self.event(summary)

    def _save(self) -> None:
        _write_json(self.path, self.data)


def previous_release(run_dir: Path, service: str) -> str | None:
    """The release a service ran before its last completed deploy."""
    history = _history(run_dir)
    return history.get(service, {}).get("previous")


def remember(run_dir: Path, service: str, previous: str, current: str) -> None:
    """Record that `service` moved from `previous` to `current`."""
    history = _history(run_dir)
    history[service] = {"previous": previous, "current": current}
    _write_json(deploy_dir(run_dir) / HISTORY_FILE, history)


def _history(run_dir: Path) -> dict[str, dict[str, str]]:
    try:
        return json.loads((deploy_dir(run_dir) / HISTORY_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


INVENTORY_FILE = "replicas.json"


def write_inventory(run_dir: Path, replicas: dict[str, list[dict[str, Any]]]) -> None:
    """Record every gRPC service's processes with their address and release (for the console and /healthz)."""
    _write_json(deploy_dir(run_dir) / INVENTORY_FILE, replicas)


def read_inventory(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """The processes of each gRPC service as the supervisor last recorded them; empty when none is running."""
    try:
        return json.loads((deploy_dir(run_dir) / INVENTORY_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
