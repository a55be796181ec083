"""A flag's rollout as a plan a person reads, written as flagd JSON in one canonical shape.

The shapes: off; employees only; employees plus N% of everyone else; on for everyone; named users on
top of any of those; and the kill switch (state DISABLED: everyone gets the code default). The
percentage uses flagd's `fractional` on the user id, so it is sticky: each user hashes to a fixed
bucket 0..99 per flag, and is on while the bucket is below N. Raising N only adds users; lowering
it only removes them.

Canonical targeting, every clause optional but in this order::

    {"if": [{"in": [{"var": "targetingKey"}, ["ada", "lin"]]}, "on",    # named users
            {"var": "employee"}, "on",                                 # employees
            {"var": "targetingKey"}, {"fractional": [["on", N], ["off", 100 - N]]},
            "off"]}

Anything else is "custom": still served, listed as such, and replaced by the next command.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from purchase_lab.flags.context import check_user_id
from purchase_lab.flags.errors import InvalidRollout

State = Literal["ENABLED", "DISABLED"]
VARIANTS = {"on": True, "off": False}
_KEY = {"var": "targetingKey"}
_EMPLOYEE = {"var": "employee"}
_CANONICAL_FIELDS = ("state", "variants", "defaultVariant", "targeting")


def check_percent(percent: object) -> int:
    """Return the percentage when it is a whole number from 0 to 100; raise InvalidRollout otherwise."""
    if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
        raise InvalidRollout(f"percent must be a whole number from 0 to 100, got {percent!r}")
    return percent


@dataclass(frozen=True)
class Rollout:
    """Who gets a boolean flag: named users, employees, a sticky percentage, or everyone."""

    state: State = "ENABLED"
    percent: int = 0
    employees: bool = False
    users: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.state not in ("ENABLED", "DISABLED"):
            raise InvalidRollout(f"state must be ENABLED or DISABLED, got {self.state!r}")
        check_percent(self.percent)
        users = tuple(sorted({check_user_id(user) for user in self.users}))
        if self.percent == 100:  # everyone is on, so naming employees or users adds nothing
            users = ()
        object.__setattr__(self, "users", users)
        object.__setattr__(self, "employees", self.employees or self.percent == 100)

    def with_user(self, user_id: str) -> Rollout:
        """The same rollout with one more named user on."""
        return replace(self, users=(*self.users, user_id))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form: state, percent, employees, users."""
        return {"state": self.state, "percent": self.percent, "employees": self.employees, "users": list(self.users)}

    def to_flag(self, description: str) -> dict[str, Any]:
        """The flagd flag definition for this rollout, with its human description in metadata."""
        flag: dict[str, Any] = {
            "state": self.state,
            "variants": dict(VARIANTS),
            "defaultVariant": "on" if self.percent == 100 else "off",
        }
        targeting = self._targeting()
        if targeting is not None:
            flag["targeting"] = targeting
        flag["metadata"] = {"description": description}
        return flag

    def _targeting(self) -> dict[str, Any] | None:
        clauses: list[Any] = []
        if self.users:
            clauses += [{"in": [dict(_KEY), list(self.users)]}, "on"]
        if self.employees and self.percent < 100:
            clauses += [dict(_EMPLOYEE), "on"]
        if 0 < self.percent < 100:
            clauses += [dict(_KEY), {"fractional": [["on", self.percent], ["off", 100 - self.percent]]}]
        return {"if": [*clauses, "off"]} if clauses else None

    @classmethod
    def from_flag(cls, flag: Mapping[str, Any]) -> Rollout | None:
        """Read a flag definition back; None when it is not in the canonical shape (custom targeting)."""
        try:
            candidate = cls._parse(flag)
        except (AttributeError, IndexError, KeyError, TypeError, InvalidRollout):
            return None
        written = candidate.to_flag(description="")
        if any(_field(flag, name) != _field(written, name) for name in _CANONICAL_FIELDS):
            return None
        return candidate

    @classmethod
    def _parse(cls, flag: Mapping[str, Any]) -> Rollout:
        state = flag["state"]
        if not flag.get("targeting"):
            return cls(state=state, percent=100 if flag["defaultVariant"] == "on" else 0)
        clauses = list(flag["targeting"]["if"])
        users: tuple[str, ...] = ()
        employees, percent = False, 0
        if clauses and isinstance(clauses[0], dict) and "in" in clauses[0]:
            users, clauses = tuple(clauses[0]["in"][1]), clauses[2:]
        if clauses[:1] == [_EMPLOYEE]:
            employees, clauses = True, clauses[2:]
        if clauses[:1] == [_KEY]:
            percent, clauses = clauses[1]["fractional"][0][1], clauses[2:]
        return cls(state=state, percent=percent, employees=employees, users=users)

    def summary(self) -> str:
        """The rollout in words, such as "employees + 10% of everyone else, and users ada, lin"."""
        if self.state == "DISABLED":
            kept = replace(self, state="ENABLED").summary()
            return f"killed: everyone gets the code default (kept for later: {kept})"
        if self.percent == 100:
            return "on for everyone"
        parts = ["employees"] if self.employees else []
        if self.percent:
            parts.append(f"{self.percent}% of everyone else" if self.employees else f"{self.percent}% of users")
        audience = " + ".join(parts)
        if not self.users:
            if not audience:
                return "off for everyone"
            return f"on for {audience}" if self.percent else f"on for {audience} only"
        named = f"user{'s' * (len(self.users) > 1)} {', '.join(self.users)}"
        return f"on for {audience}, and {named}" if audience else f"on only for {named}"


def _field(flag: Mapping[str, Any], name: str) -> Any:
    # An empty targeting object means no targeting, as it does in flagd.
    value = flag.get(name)
    return None if name == "targeting" and not value else value
