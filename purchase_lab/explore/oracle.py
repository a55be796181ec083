"""The oracle: what the checkout table (table.py) says one case must come to, in the answer and in the state."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from purchase_lab.explore.space import DOWN, Case, Site
from purchase_lab.explore.table import CANCEL, DISCOUNT, FAULT_ERRORS, PLACED, STEPS


@dataclass
class Expected:
    """What one checkout must answer and leave behind.

    emails maps each email kind to sent (in the outbox when the answer comes), queued (in the outbox
    once the relay has delivered it) or none; email is the answer's `email` field (on a 201 only);
    calls are the sites the checkout calls, in order; discount whether a placed order has one.
    """

    status: int
    code: str | None
    dependency: str | None
    order: str
    cart: str
    emails: dict[str, str] = field(default_factory=dict)
    email: str | None = None
    degraded: list[dict[str, str]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    discount: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return asdict(self)


class _Walk:
    """The checkout of one case, step by step as the table says, with the case's faults."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.faults = {injection.site: injection.fault for injection in case.faults}
        self.seen: dict[str, int] = {}
        self.calls: list[str] = []

    def fails(self, call: str) -> str | None:
        """Make the call; the fault it meets, if any (a down process fails every call to it)."""
        self.seen[call] = self.seen.get(call, 0) + 1
        service, method = call.split(".")
        site = Site(service, method, self.seen[call])
        self.calls.append(site.label)
        if service in self.case.down:
            return DOWN
        return self.faults.get(site)


def column(step: dict[str, Any], case: Case) -> dict[str, Any]:
    """The cell of the table for this step, this flag combination and this user."""
    if not case.flags.fallbacks:
        return step["fallbacks_off"]
    eligible = "fallbacks_on_eligible" if case.kind.eligible else "fallbacks_on_not_eligible"
    return step.get(eligible) or step["fallbacks_on"]


def discounted(case: Case) -> bool:
    """Whether pricing's answer is above $0: a first order, a promo code, or a returning customer with loyalty on."""
    return case.kind.first_order or case.kind.promo or case.flags.loyalty


def expect(case: Case) -> Expected:
    """What the table says this case must come to."""
    walk = _Walk(case)
    discount = discounted(case)
    degraded: list[dict[str, str]] = []
    emails: dict[str, str] = {}
    queueing = False
    for step in STEPS:
        if step["when"] == DISCOUNT and not discount:
            continue
        if queueing:
            emails[step["email"]] = "queued"  # queued with the email that failed, never called
            continue
        fault = walk.fails(step["call"])
        if fault is None:
            if "email" in step:
                emails[step["email"]] = "sent"
            continue
        cell = column(step, case)
        error = FAULT_ERRORS[fault]
        if "stop" in cell:
            return Expected(**cell["stop"], emails=emails | _none(emails), calls=walk.calls)
        if "cancel" in cell:
            outcome = CANCEL["failed"] if walk.fails(CANCEL["call"]) else CANCEL["succeeded"]
            return Expected(**outcome, emails=emails | _none(emails), calls=walk.calls)
        degraded.append({**cell["fallback"], "error": error})
        if step["call"] == "pricing.GetAdjustment":
            discount = False  # the fallback is no discount: no UpdateCart, no discount email
        if cell.get("queue_the_rest"):
            emails[step["email"]] = "queued"
            queueing = True
    email = "queued" if queueing else "sent"
    return Expected(
        **PLACED,
        emails=emails | _none(emails),
        email=email,
        degraded=degraded,
        calls=walk.calls,
        discount=discount,
    )


def _none(emails: dict[str, str]) -> dict[str, str]:
    """Every email kind not yet sent: none."""
    return {kind: "none" for kind in ("order_confirmation", "discount") if kind not in emails}
