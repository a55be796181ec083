"""What an exploration covers: flag combinations, user kinds, call sites, faults, and the cases built of them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from itertools import product
from typing import Any

from purchase_lab.flags import CHECKOUT_FALLBACKS, LOYALTY_DISCOUNT

# The flags that change the checkout, and the mark each has in a run's user id (see lab.flag_targeting).
FLAG_MARKS = {CHECKOUT_FALLBACKS: "fb", LOYALTY_DISCOUNT: "ld"}
# The faults of every site: three gRPC errors, latency past the call's deadline, and the process being down.
FAULTS = ("UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL", "LATENCY", "DOWN")
DOWN = "DOWN"
LATENCY = "LATENCY"


@dataclass(frozen=True)
class FlagCombo:
    """One combination of the flags that change the checkout."""

    fallbacks: bool
    loyalty: bool

    @property
    def mark(self) -> str:
        """How a user id says this combination: `fb1.ld0`."""
        return (
            f"{FLAG_MARKS[CHECKOUT_FALLBACKS]}{int(self.fallbacks)}.{FLAG_MARKS[LOYALTY_DISCOUNT]}{int(self.loyalty)}"
        )

    @property
    def label(self) -> str:
        """`fallbacks=on loyalty=off`."""
        return f"fallbacks={'on' if self.fallbacks else 'off'} loyalty={'on' if self.loyalty else 'off'}"

    def to_dict(self) -> dict[str, bool]:
        """As JSON."""
        return {"fallbacks": self.fallbacks, "loyalty": self.loyalty}


@dataclass(frozen=True)
class UserKind:
    """Who checks out: a first order or a returning customer, with a promo code or not, an employee or not.

    Eligible for a discount (known from the cart, without pricing) means a first order or a promo code.
    """

    first_order: bool
    promo: bool
    employee: bool

    @property
    def eligible(self) -> bool:
        """Whether the cart says a discount is owed, so pricing's fallback may not charge full price."""
        return self.first_order or self.promo

    @property
    def label(self) -> str:
        """`first-order`, `returning+promo`, `returning`, each with `+employee` when one."""
        who = "first-order" if self.first_order else "returning"
        return who + ("+promo" if self.promo else "") + ("+employee" if self.employee else "")

    @property
    def slug(self) -> str:
        """The label as a user id may hold it."""
        return self.label.replace("+", "_")

    def to_dict(self) -> dict[str, bool]:
        """As JSON."""
        return {"first_order": self.first_order, "promo": self.promo, "employee": self.employee}


FLAG_COMBOS = tuple(FlagCombo(fallbacks, loyalty) for fallbacks, loyalty in product((True, False), repeat=2))
USER_KINDS = tuple(
    UserKind(first, promo, employee)
    for employee in (False, True)
    for first, promo in ((True, False), (False, True), (False, False))
)


@dataclass(frozen=True)
class Site:
    """A call site: the occurrence-th call of service.method within one checkout."""

    service: str
    method: str
    occurrence: int = 1

    @property
    def label(self) -> str:
        """`email.SendDiscountEmail#1`."""
        return f"{self.service}.{self.method}#{self.occurrence}"

    @classmethod
    def parse(cls, label: str) -> Site:
        """Read a label back; ValueError says what a label looks like."""
        try:
            call, occurrence = label.split("#")
            service, method = call.split(".")
            return cls(service, method, int(occurrence))
        except ValueError:
            raise ValueError(f"site {label!r} is not service.Method#N, such as email.SendDiscountEmail#1") from None


def sites_of(calls: list[tuple[str, str]]) -> list[Site]:
    """Number the calls of one checkout, in order, into sites."""
    seen: dict[tuple[str, str], int] = {}
    sites = []
    for service, method in calls:
        seen[(service, method)] = seen.get((service, method), 0) + 1
        sites.append(Site(service, method, seen[(service, method)]))
    return sites


@dataclass(frozen=True)
class Injection:
    """One fault at one site."""

    site: Site
    fault: str

    @property
    def label(self) -> str:
        """`DOWN@email.SendOrderConfirmation#1`."""
        return f"{self.fault}@{self.site.label}"


@dataclass(frozen=True)
class Case:
    """One run: a flag combination, a user kind, and the faults it injects (none: the fault-free run)."""

    flags: FlagCombo
    kind: UserKind
    faults: tuple[Injection, ...] = ()

    @property
    def down(self) -> frozenset[str]:
        """The services whose process is down for the whole run."""
        return frozenset(injection.site.service for injection in self.faults if injection.fault == DOWN)

    @property
    def label(self) -> str:
        """What a report line names: faults, flags and user kind."""
        faults = " + ".join(injection.label for injection in self.faults) or "no fault"
        return f"{faults} | {self.flags.label} | {self.kind.label}"

    def new_user(self) -> str:
        """A user id no other run has, which carries the flag combination (see lab.flag_targeting)."""
        return f"x.{self.flags.mark}.{self.kind.slug}.{secrets.token_hex(5)}"

    def to_dict(self) -> dict[str, Any]:
        """As JSON, the way a replay file holds it."""
        return {
            "flags": self.flags.to_dict(),
            "kind": self.kind.to_dict(),
            "faults": [{"site": injection.site.label, "fault": injection.fault} for injection in self.faults],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Case:
        """Read a case written by to_dict; ValueError or KeyError says what is missing or wrong."""
        faults = []
        for given in data.get("faults", []):
            if given["fault"] not in FAULTS:
                raise ValueError(f"fault {given['fault']!r} is not known; use one of {', '.join(FAULTS)}")
            faults.append(Injection(Site.parse(given["site"]), given["fault"]))
        return cls(FlagCombo(**data["flags"]), UserKind(**data["kind"]), tuple(faults))
