"""What the shop must hold after a run, worked out from what its clients were told (the journal).

Per user: the orders they were told were placed or cancelled, the emails those orders owe them,
the checkouts that ended without an answer (their outcome is unknown to the client), and the cart
as the client last saw it, or None when a request that may have changed it got no clear answer.
The comparisons with what the shop actually stored are here too, as pure functions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from loadtest.journal import CART_ENDPOINTS, Record

CONFIRMATION, DISCOUNT = "order_confirmation", "discount"
# Answers that say for sure what happened to a checkout's cart.
CANCELLED = "order_cancelled"
CART = "/api/v1/cart"


@dataclass(frozen=True)
class Violation:
    """A broken invariant: which kind, for whom, and what exactly was wrong."""

    kind: str
    user: str
    detail: str


@dataclass
class Expectation:
    """What the shop must hold for one user."""

    user: str
    placed: dict[str, int] = field(default_factory=dict)  # order id -> adjustment in cents
    cancelled: set[str] = field(default_factory=set)
    emails: set[tuple[str, str]] = field(default_factory=set)  # (order id, kind)
    cart: dict[str, int] | None = field(default_factory=dict)  # a fresh user id starts with an empty cart
    key_outcomes: dict[str, bool] = field(default_factory=dict)  # Idempotency-Key -> outcome known
    seen: list[Violation] = field(default_factory=list)  # broken invariants the client itself saw
    just_placed: str = ""  # the order placed by the last request that changed the cart, if it was a checkout

    @property
    def unknown_checkouts(self) -> int:
        """Checkouts whose client never learned whether an order was placed: a 503 or no answer, after every retry."""
        return sum(1 for known in self.key_outcomes.values() if not known)

    def observe(self, record: Record) -> None:
        """Update what the shop must hold after this answer."""
        if record.is_checkout:
            self._observe_checkout(record)
        elif record.cart is not None:
            if record.endpoint == CART and self.just_placed and record.cart:
                detail = f"after order {self.just_placed} was placed, the client saw the cart hold {record.cart}"
                self.seen.append(Violation("stale_cart", self.user, detail))
            self.cart = dict(record.cart)
            self.just_placed = ""
        elif record.endpoint in CART_ENDPOINTS and record.method != "GET" and not definite_failure(record):
            self.cart = None  # it may or may not have changed the cart
            self.just_placed = ""

    def _observe_checkout(self, record: Record) -> None:
        if record.ok:
            self.placed[record.order_id] = record.adjustment_cents
            if record.email != "not_sent":
                self.emails.add((record.order_id, CONFIRMATION))
                if record.adjustment_cents > 0:
                    self.emails.add((record.order_id, DISCOUNT))
            self.cart = {}
            self.just_placed = record.order_id
            self.key_outcomes[record.key] = True
        elif record.error == CANCELLED and record.order_id:
            self.cancelled.add(record.order_id)  # its items went back into the cart as it was
            self.key_outcomes[record.key] = True
        elif definite_failure(record):
            self.key_outcomes[record.key] = True
            if record.error == "cart_empty":
                self.cart = {}
        else:
            self.key_outcomes[record.key] = False
            self.cart = None
            self.just_placed = ""


def definite_failure(record: Record) -> bool:
    """True for a 4xx: the shop refused the request, so nothing changed (except cart_changed, a race)."""
    return 400 <= record.status < 500 and record.error != "cart_changed"


def expectations(records: Iterable[Record]) -> dict[str, Expectation]:
    """Replay the journal, user by user in the order their requests were made."""
    expected: dict[str, Expectation] = {}
    for record in sorted(records, key=lambda record: record.t):
        if record.user:
            expected.setdefault(record.user, Expectation(record.user)).observe(record)
    return expected


def order_violations(expected: Expectation, orders: list[Mapping[str, Any]]) -> list[Violation]:
    """Every order the client was told about is stored exactly once with that status, and no more were placed."""
    counts = Counter(order["order_id"] for order in orders)
    status = {order["order_id"]: order["status"] for order in orders}
    violations = []
    told = {**dict.fromkeys(expected.placed, "placed"), **dict.fromkeys(expected.cancelled, "cancelled")}
    for order_id, told_status in told.items():
        if counts[order_id] == 0:
            detail = f"told {order_id} was {told_status}; it is not stored"
            violations.append(Violation("lost_order", expected.user, detail))
        elif counts[order_id] > 1:
            detail = f"{order_id} is listed {counts[order_id]} times"
            violations.append(Violation("duplicate_order", expected.user, detail))
        elif status[order_id] != told_status:
            detail = f"told {order_id} was {told_status}; it is {status[order_id]}"
            violations.append(Violation("wrong_order_status", expected.user, detail))
    untold = sorted(order_id for order_id, s in status.items() if s == "placed" and order_id not in told)
    if len(untold) > expected.unknown_checkouts:
        detail = (
            f"{len(untold)} placed orders the client was never told about ({', '.join(untold)}), but only "
            f"{expected.unknown_checkouts} of its checkouts ended without an answer: an order was placed twice"
        )
        violations.append(Violation("unexpected_order", expected.user, detail))
    return violations


def cart_violation(expected: Expectation, cart: Mapping[str, int]) -> Violation | None:
    """The cart holds exactly what the client last saw in it: nothing after an order, unless items were added since."""
    if expected.cart is None or dict(cart) == expected.cart:
        return None
    if expected.just_placed:
        detail = f"the cart still holds {dict(cart)} after order {expected.just_placed} was placed"
        return Violation("stale_cart", expected.user, detail)
    return Violation("wrong_cart", expected.user, f"the cart holds {dict(cart)}; the client last saw {expected.cart}")


def missing_emails(expected: Expectation, delivered: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The emails of this user's placed orders that are not in the outbox."""
    return expected.emails - delivered
