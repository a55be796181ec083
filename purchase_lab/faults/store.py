"""The live rule file, <control dir>/faults.json: writers take a lock and replace the file atomically."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from purchase_lab.config import control_dir
from purchase_lab.faults.rules import SERVICES, Rule, RuleError, new_rule, rule_from_dict
from purchase_lab.faults.scenarios import find_scenario

FILE_NAME = "faults.json"
# A separate lock file: the rule file itself is replaced on every write, so it cannot hold a lock.
LOCK_NAME = "faults.lock"
FORMAT_VERSION = 1
RESET_HINT = "fix the file by hand, or run `purchase reset` to start again with no faults"


class FaultFileError(RuntimeError):
    """faults.json exists but cannot be used as it is."""


class UnknownRule(LookupError):
    """No active rule has the id that was given."""


def faults_path(directory: Path | None = None) -> Path:
    """The rule file in the given control directory (the configured one when none is given)."""
    return (directory or control_dir()) / FILE_NAME


def parse_rules(text: str, path: Path) -> tuple[Rule, ...]:
    """Every rule in the file's text, expired ones included; FaultFileError names what is wrong."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise FaultFileError(f"{path} is not valid JSON ({error}); {RESET_HINT}") from None
    entries = document.get("rules") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise FaultFileError(f'{path} must hold {{"version": 1, "rules": [{{...}}, ...]}}; {RESET_HINT}')
    rules = []
    for index, entry in enumerate(entries):
        try:
            rules.append(rule_from_dict(entry))
        except RuleError as error:
            problem = f"{path}: rule {index} ({entry.get('id')!r}) is invalid: {error}"
            raise FaultFileError(f"{problem}; {RESET_HINT}") from None
    return tuple(rules)


def render_rules(rules: list[Rule]) -> str:
    """The file's text for these rules."""
    return json.dumps({"version": FORMAT_VERSION, "rules": [rule.to_dict() for rule in rules]}, indent=2) + "\n"


class FaultStore:
    """Add, list and clear the lab's fault rules; safe with many writers (CLI, admin API) at once."""

    def __init__(self, directory: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self.directory = directory or control_dir()
        self.path = self.directory / FILE_NAME
        self._clock = clock

    def list_rules(self) -> list[Rule]:
        """The rules that have not expired, oldest first."""
        now = self._clock()
        return [rule for rule in self._read() if rule.active(now)]

    def add_rule(self, /, **fields: object) -> Rule:
        """Check and add one rule (see rules.INPUT_FIELDS); RuleError lists every bad field, unknown ones too."""
        rule = new_rule(fields, now=self._clock())
        with self._update() as rules:
            rules.append(rule)
        return rule

    def add_rules(self, rules: Sequence[Rule]) -> None:
        """Add rules already checked by new_rule, in one write (a tool adding hundreds at once)."""
        with self._update() as stored:
            stored.extend(rules)

    def remove_rule(self, rule_id: str) -> Rule:
        """Remove the active rule with this id and return it."""
        with self._update() as rules:
            for rule in rules:
                if rule.id == rule_id:
                    rules.remove(rule)
                    return rule
        raise UnknownRule(f"no active fault has id {rule_id!r}; `purchase fault list` shows the active ones")

    def clear(self, service: str | None = None) -> list[Rule]:
        """Remove every rule, or every rule of one service; return what was removed."""
        if service is not None and service not in SERVICES:
            raise RuleError([f"service={service!r} is not known; use one of: {', '.join(SERVICES)}"])
        with self._update() as rules:
            removed = [rule for rule in rules if service in (None, rule.service)]
            rules[:] = [rule for rule in rules if rule not in removed]
        return removed

    def apply_scenario(self, name: str, ttl_s: float | None = None) -> list[Rule]:
        """Add a named scenario's rules, replacing the ones an earlier run of it left."""
        scenario = find_scenario(name)
        extra = {"ttl_s": ttl_s} if ttl_s is not None else {}
        now = self._clock()
        added = [new_rule({**fields, **extra, "description": scenario.description}, now) for fields in scenario.rules]
        with self._update() as rules:
            rules[:] = [rule for rule in rules if rule.description != scenario.description]
            rules.extend(added)
        return added

    def reset(self) -> None:
        """Remove every rule, even when the file on disk is damaged."""
        with self._lock():
            self._write([])

    def _read(self) -> tuple[Rule, ...]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ()
        return parse_rules(text, self.path)

    @contextmanager
    def _update(self) -> Iterator[list[Rule]]:
        """Hold the lock, hand out the active rules to change, and write them back if no error was raised."""
        with self._lock():
            rules = self.list_rules()
            yield rules
            self._write(rules)

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / LOCK_NAME).open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write(self, rules: list[Rule]) -> None:
        """Write a temporary file beside the real one, flush it to disk, then swap it in with one rename."""
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".faults-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(render_rules(rules))
                file.flush()
                os.fchmod(file.fileno(), 0o644)
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
