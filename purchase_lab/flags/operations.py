"""The rollout steps a student takes, one function each, applied to the live flags file.

These are what `purchase flag list|set|ramp|user|kill`, `purchase reset` and the gateway's admin API
call. Each change holds the file's lock for its whole read-change-write and writes atomically, so
concurrent changes never lose one another, and the change reaches every running process within
about the watchers' poll interval. `path` defaults to the live file named by PURCHASE_CONTROL_DIR.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from purchase_lab.flags.context import check_user_id
from purchase_lab.flags.definitions import COMMITTED_FLAGS, FLAGS, FlagSettings, known_flag
from purchase_lab.flags.document import locked, read_document, restore_defaults, seed_live_file, write_document
from purchase_lab.flags.errors import CustomTargeting, FlagKilled, InvalidRollout
from purchase_lab.flags.rollout import Rollout, check_percent

CUSTOM_SUMMARY = "custom targeting (written by hand; any `purchase flag` command replaces it)"
MISSING_SUMMARY = "missing from the file: everyone gets the code default"


@dataclass(frozen=True)
class FlagStatus:
    """One flag as a person sees it: what it is for, who has it, and what the code falls back to."""

    key: str
    description: str
    state: str
    rollout: Rollout | None  # None when the targeting is custom
    summary: str
    default: bool
    client_visible: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form for the admin API; `rollout` is null when the targeting is custom."""
        return {
            "key": self.key,
            "description": self.description,
            "state": self.state,
            "rollout": self.rollout.to_dict() if self.rollout is not None else None,
            "summary": self.summary,
            "default": self.default,
            "client_visible": self.client_visible,
        }


def _live(path: Path | None) -> Path:
    return path if path is not None else FlagSettings.from_env().live_path


def _status(key: str, document: dict[str, Any]) -> FlagStatus:
    spec = FLAGS[key]
    flag = document["flags"].get(key)
    if flag is None:
        summary = MISSING_SUMMARY
        return FlagStatus(key, "", "MISSING", None, summary, spec.default, spec.client_visible)
    rollout = Rollout.from_flag(flag)
    description = flag.get("metadata", {}).get("description", "")
    summary = rollout.summary() if rollout is not None else CUSTOM_SUMMARY
    return FlagStatus(key, str(description), flag["state"], rollout, summary, spec.default, spec.client_visible)


def list_flags(path: Path | None = None) -> list[FlagStatus]:
    """Every flag the code knows, as it stands in the live file (seeded from git when missing)."""
    live = _live(path)
    seed_live_file(live)
    document = read_document(live)
    return [_status(key, document) for key in FLAGS]


def _change(key: str, path: Path | None, change: Callable[[dict[str, Any] | None], dict[str, Any]]) -> FlagStatus:
    """Apply `change` to one flag's definition under the lock, check the result, write it."""
    known_flag(key)
    live = _live(path)
    seed_live_file(live)
    with locked(live):
        document = read_document(live)
        document["flags"][key] = change(document["flags"].get(key))
        write_document(live, document)
    return _status(key, document)


def _rewrite(key: str, path: Path | None, rollout: Callable[[Rollout | None], Rollout]) -> FlagStatus:
    """Replace a flag's rollout, keeping its description."""

    def change(flag: dict[str, Any] | None) -> dict[str, Any]:
        current = Rollout.from_flag(flag) if flag is not None else None
        return rollout(current).to_flag(_description(key, flag))

    return _change(key, path, change)


def _description(key: str, flag: dict[str, Any] | None) -> str:
    described = (flag or {}).get("metadata", {}).get("description")
    if described:
        return str(described)
    committed = read_document(COMMITTED_FLAGS)["flags"].get(key, {})
    return str(committed.get("metadata", {}).get("description", ""))


def _users(current: Rollout | None) -> tuple[str, ...]:
    return current.users if current is not None else ()


def parse_on_off(value: bool | str) -> bool:
    """True for True/"on", False for False/"off"; raise InvalidRollout for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("on", "off"):
        return value.strip().lower() == "on"
    raise InvalidRollout(f"a flag is set 'on' or 'off', got {value!r}")


def set_flag(key: str, value: bool | str, path: Path | None = None) -> FlagStatus:
    """Turn a flag on for everyone, or off for everyone (named users included); re-enables a killed flag."""
    on = parse_on_off(value)
    return _rewrite(key, path, lambda _current: Rollout(percent=100 if on else 0))


def ramp(key: str, percent: int, path: Path | None = None) -> FlagStatus:
    """Turn a flag on for employees plus a sticky percentage of everyone else; named users stay on."""
    check_percent(percent)
    return _rewrite(key, path, lambda current: Rollout(percent=percent, employees=True, users=_users(current)))


def employees_only(key: str, path: Path | None = None) -> FlagStatus:
    """Turn a flag on for employees only (dogfooding); named users stay on."""
    return _rewrite(key, path, lambda current: Rollout(employees=True, users=_users(current)))


def add_user(key: str, user_id: str, path: Path | None = None) -> FlagStatus:
    """Turn a flag on for one more named user, on top of the current rollout (a smoke test in production)."""
    check_user_id(user_id)

    def with_user(current: Rollout | None) -> Rollout:
        if current is None:
            raise CustomTargeting(key)
        if current.state == "DISABLED":
            raise FlagKilled(key)
        return current.with_user(user_id)

    return _rewrite(key, path, with_user)


def kill(key: str, path: Path | None = None) -> FlagStatus:
    """The kill switch: state DISABLED, so everyone gets the code default (the old behaviour) at once."""

    def disabled(flag: dict[str, Any] | None) -> dict[str, Any]:
        if flag is None:
            return Rollout(state="DISABLED").to_flag(_description(key, None))
        return {**flag, "state": "DISABLED"}  # the rollout is kept, so the list shows what was killed

    return _change(key, path, disabled)


def reset(path: Path | None = None) -> list[FlagStatus]:
    """Put the live file back to the committed defaults (it also repairs a hand-broken file)."""
    live = _live(path)
    with locked(live):
        restore_defaults(live)
    return list_flags(live)
