"""The live flags file: read and check it, write it atomically under a lock, seed it from git.

Every process of a lab evaluates the same live file, `<control dir>/flags.json`. Writers hold an
exclusive lock for the whole read-change-write, write a temporary file in the same directory,
fsync it and rename it over the live one, so a reader sees the old document or the new one, never
half of one, and two writers never lose each other's change. Nothing is written that the flagd
evaluator would not serve.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from openfeature.contrib.tools.flagd.core import FlagdCore
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import OpenFeatureError

from purchase_lab.flags.definitions import COMMITTED_FLAGS, FLAGS
from purchase_lab.flags.errors import InvalidFlagsFile

FLAG_FIELDS = frozenset({"state", "variants", "defaultVariant", "targeting", "metadata"})
# Who a trial evaluation is made for before a document is accepted: nobody, a user, an employee.
_TRIAL_CONTEXTS = (
    None,
    EvaluationContext("trial-user", {"employee": False}),
    EvaluationContext("trial-employee", {"employee": True, "email": "trial@purchase.example"}),
)


def parse_document(text: str, path: Path | Traversable) -> dict[str, Any]:
    """Parse and check a flags document; raise InvalidFlagsFile saying where it is wrong."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidFlagsFile(path, f"line {error.lineno} column {error.colno}", error.msg) from None
    check_document(document, path)
    return document


def check_document(document: Any, path: Path) -> None:
    """Raise InvalidFlagsFile unless flagd can load the document and evaluate every flag in it."""
    if not isinstance(document, dict) or not isinstance(document.get("flags"), dict):
        raise InvalidFlagsFile(path, "top level", 'must be a JSON object with a "flags" object')
    for key, flag in document["flags"].items():
        _check_flag(key, flag, path)
    evaluator = FlagdCore()
    try:
        evaluator.set_flags(copy.deepcopy(document))  # flagd-core consumes the dicts it is given
    except OpenFeatureError as error:
        raise InvalidFlagsFile(path, "flags", error.error_message or repr(error.__cause__)) from None
    for key, flag in document["flags"].items():
        _trial_evaluate(evaluator, key, flag["variants"], path)


def _check_flag(key: str, flag: Any, path: Path) -> None:
    where = f"flags.{key}"
    if not isinstance(flag, dict):
        raise InvalidFlagsFile(path, where, "must be a JSON object")
    unknown = sorted(flag.keys() - FLAG_FIELDS)
    if unknown:
        allowed = ", ".join(sorted(FLAG_FIELDS))
        problem = f"is not a field flagd accepts (use {allowed}; a description goes in metadata.description)"
        raise InvalidFlagsFile(path, f"{where}.{unknown[0]}", problem)
    if flag.get("state") not in ("ENABLED", "DISABLED"):
        raise InvalidFlagsFile(path, f"{where}.state", f'is {flag.get("state")!r}; use "ENABLED" or "DISABLED"')
    variants = flag.get("variants")
    if not isinstance(variants, dict) or not variants:
        raise InvalidFlagsFile(path, f"{where}.variants", 'must be an object of variants, such as {"on": true}')
    if key in FLAGS and not all(isinstance(value, bool) for value in variants.values()):
        raise InvalidFlagsFile(path, f"{where}.variants", "must all be true or false: the code reads a boolean")
    default = flag.get("defaultVariant")
    if default is not None and default not in variants:
        raise InvalidFlagsFile(path, f"{where}.defaultVariant", f"{default!r} is not one of {sorted(variants)}")
    if not isinstance(flag.get("targeting", {}), dict):
        raise InvalidFlagsFile(path, f"{where}.targeting", "must be a JSON-logic object")


def _trial_evaluate(evaluator: FlagdCore, key: str, variants: dict[str, Any], path: Path) -> None:
    resolve = _resolver_for(evaluator, next(iter(variants.values())))
    for context in _TRIAL_CONTEXTS:
        try:
            resolve(key, context)
        except Exception as error:  # targeting is arbitrary JSON logic: any failure makes the file unservable
            message = getattr(error, "error_message", None) or str(error) or type(error).__name__
            raise InvalidFlagsFile(path, f"flags.{key}.targeting", message) from None


def _resolver_for(evaluator: FlagdCore, sample: Any) -> Callable[[str, EvaluationContext | None], object]:
    """The evaluator's resolve method for flags whose variants have the sample's type."""
    if isinstance(sample, bool):
        return lambda key, context: evaluator.resolve_boolean_value(key, False, context)
    if isinstance(sample, str):
        return lambda key, context: evaluator.resolve_string_value(key, "", context)
    if isinstance(sample, int | float):
        return lambda key, context: evaluator.resolve_float_value(key, 0.0, context)
    return lambda key, context: evaluator.resolve_object_value(key, {}, context)


def read_document(path: Path | Traversable) -> dict[str, Any]:
    """Read and check the flags file at path; raise InvalidFlagsFile when it is missing or invalid."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidFlagsFile(path, "file", "does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidFlagsFile(path, "file", f"cannot be read ({error})") from None
    return parse_document(text, path)


def render(document: dict[str, Any]) -> str:
    """The document as the lab writes it: two-space indented JSON with a final newline."""
    return json.dumps(document, indent=2) + "\n"


def write_document(path: Path, document: dict[str, Any]) -> None:
    """Check the document, then replace the file at path with it atomically. Hold `locked(path)`."""
    check_document(document, path)
    _replace_atomically(path, render(document))


def _replace_atomically(path: Path, text: str) -> None:
    # flagd's file watcher reloads only when the mtime grows. Filesystems with coarse timestamps
    # (a second on some, a clock tick on others) would hide a second write within the same tick,
    # so each write gets an mtime at least a millisecond past the previous one.
    previous_ns = path.stat().st_mtime_ns if path.exists() else 0
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            os.fchmod(file.fileno(), 0o644)  # readable by every service, whichever user runs it
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        stamp = max(time.time_ns(), previous_ns + 1_000_000)
        os.utime(temporary, ns=(stamp, stamp))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the exclusive lock that every writer of the flags file at path takes (creating its dir)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / f".{path.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def committed_text(committed: Traversable = COMMITTED_FLAGS) -> str:
    """The committed default flags, checked; raise InvalidFlagsFile when the file in git is broken."""
    text = committed.read_text(encoding="utf-8")
    parse_document(text, committed)
    return text


def restore_defaults(path: Path, committed: Traversable = COMMITTED_FLAGS) -> None:
    """Replace the live file with the committed defaults. Hold `locked(path)`."""
    _replace_atomically(path, committed_text(committed))


def seed_live_file(path: Path, committed: Traversable = COMMITTED_FLAGS) -> bool:
    """Create the live file from the committed defaults when it does not exist; True when it did so."""
    if path.exists():
        return False
    with locked(path):
        if path.exists():  # another process seeded it while we waited for the lock
            return False
        restore_defaults(path, committed)
        return True
