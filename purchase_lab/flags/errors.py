"""What can go wrong when reading or changing flags: each error says what was wrong and what to do."""

from __future__ import annotations

from collections.abc import Iterable
from importlib.resources.abc import Traversable
from pathlib import Path

RESET_HINT = "fix the file, or run `purchase reset` to restore the committed defaults"


class FlagError(Exception):
    """A flag operation that cannot be done as asked; the message says what to do instead."""


class UnknownFlag(FlagError):
    """A flag name the lab does not define."""

    def __init__(self, key: str, known: Iterable[str]) -> None:
        self.key = key
        super().__init__(f"no flag is called {key!r}; known flags: {', '.join(sorted(known))}")


class InvalidRollout(FlagError):
    """A rollout step with a value that makes no sense: a percentage out of range, on/off misspelt."""


class InvalidUser(FlagError):
    """A user id, email or app version that cannot identify a user."""


class CustomTargeting(FlagError):
    """A change that builds on the current rollout, asked of a flag whose targeting was written by hand."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"flag {key!r} has hand-written targeting, so a user cannot be added on top of it; "
            f"replace it first with `purchase flag set {key} off` or `purchase flag ramp {key} PERCENT`"
        )


class FlagKilled(FlagError):
    """A change that would quietly undo a kill switch."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"flag {key!r} is killed; to turn it on for named users only, first run "
            f"`purchase flag set {key} off`, then add the users"
        )


class InvalidFlagsFile(FlagError):
    """A flags file that is not valid flagd JSON, or that the flagd evaluator cannot serve."""

    def __init__(self, path: Path | Traversable, where: str, problem: str) -> None:
        self.path = path
        self.where = where
        self.problem = problem
        super().__init__(f"{path}: {where}: {problem}; {RESET_HINT}")
