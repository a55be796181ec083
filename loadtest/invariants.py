"""The invariant check after a load run: what the clients were told matches what the shop stored.

1. Every order a client was told about exists exactly once, with the status it was told (placed, or
   cancelled), and no user has more placed orders than the checkouts that told them of one, plus
   those that ended without an answer.
2. No cart holds items of a placed order: each cart holds exactly what its client last saw in it
   (nothing, after an order), unless a request that may have changed it got no clear answer.
3. Every email of a placed order is delivered: its confirmation (and discount email) is in the email
   service's outbox. Queued emails take the gateway's relay a moment, so this waits, within a bound.
4. What the shop stored agrees with itself, for every user of the run (state.py, check_users): order
   list, order documents, placed set and idempotency index; no second first-order discount; exactly
   one email of each kind per order, counted.

Orders and carts are read through the gateway's API, like a client would; the outbox through the
email service's ListOutbox; the stored records (4) from Redis itself.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import grpc
import redis
from purchase.email.v1 import email_pb2, email_pb2_grpc

from loadtest.expectations import (
    CONFIRMATION,
    DISCOUNT,
    Expectation,
    Violation,
    cart_violation,
    expectations,
    order_violations,
)
from loadtest.journal import Record
from loadtest.state import StoredState, check_users
from purchase_lab.grpc_client import create_channel

EMAIL_SERVICE = "purchase.email.v1.EmailService"
KINDS = {email_pb2.EMAIL_KIND_ORDER_CONFIRMATION: CONFIRMATION, email_pb2.EMAIL_KIND_DISCOUNT: DISCOUNT}
HEADERS = {"X-Synthetic": "locust", "User-Agent": "purchase-lab-invariants"}
TIMEOUT_S = 5.0
# A read that meets a 503 (a fault that is still being cleared) is tried again this often.
READ_ATTEMPTS = 3
EMAIL_WAIT_S = 30.0
EMAIL_POLL_S = 0.5
WORKERS = 8
OUTBOX_LIMIT = 1000


class Email(NamedTuple):
    """One email: to whom, for which order, and which kind."""

    user: str
    order_id: str
    kind: str


class ShopUnreachable(RuntimeError):
    """The gateway or the email service could not be read, so the invariants could not be checked."""


class Shop:
    """The shop as the check reads it: orders and carts through the gateway, emails from the outbox."""

    def __init__(self, gateway_url: str, email_target: str, redis_url: str) -> None:
        self.gateway_url = gateway_url.rstrip("/")
        self.email_target = email_target
        self.redis_url = redis_url
        self._channel = create_channel(email_target, EMAIL_SERVICE, safe_methods=("ListOutbox",))
        self._email = email_pb2_grpc.EmailServiceStub(self._channel)
        self._redis = redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=TIMEOUT_S)

    def close(self) -> None:
        """Close the channel to the email service and the connection to Redis."""
        self._channel.close()
        self._redis.close()

    def stored(self, users: Iterable[str]) -> StoredState:
        """The users' records as Redis holds them, checked against each other (state.check_users)."""
        try:
            return check_users(self._redis, users)
        except redis.RedisError as error:
            raise ShopUnreachable(
                f"could not read the stored records from {self.redis_url} ({error}); is the lab's Redis running?"
            ) from None

    def get(self, path: str, user: str) -> Any:
        """GET one of the user's resources as JSON; ShopUnreachable when the gateway does not answer 200."""
        request = urllib.request.Request(f"{self.gateway_url}{path}", headers={**HEADERS, "X-User-Id": user})
        problem = ""
        for attempt in range(READ_ATTEMPTS):
            try:
                with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
                    return json.load(answer)
            except urllib.error.HTTPError as error:
                problem = f"{error.code} {error.read()[:200].decode(errors='replace')}"
                if error.code != 503:
                    break
            except (urllib.error.URLError, OSError) as error:
                problem = str(error)
            time.sleep(0.5 * (attempt + 1))
        raise ShopUnreachable(
            f"could not read {path} for {user} from {self.gateway_url} ({problem}); is the lab running and healthy?"
        )

    def orders(self, user: str) -> list[dict[str, Any]]:
        """The user's orders."""
        return self.get("/api/v1/orders", user)["orders"]

    def cart(self, user: str) -> dict[str, int]:
        """The user's cart lines, SKU: quantity."""
        return {line["sku"]: line["quantity"] for line in self.get("/api/v1/cart", user)["lines"]}

    def outbox(self, user: str = "", newest: int = OUTBOX_LIMIT) -> set[Email]:
        """The newest emails in the outbox, at most `newest` of them, only the user's when one is named."""
        # The outbox finds a user's emails by reading it from the newest email back until it has found
        # `limit` of them: asking for no more than the run owes the user stops it as early as possible.
        request = email_pb2.ListOutboxRequest(user_id=user, limit=min(max(newest, 1), OUTBOX_LIMIT))
        try:
            reply = self._email.ListOutbox(request, timeout=TIMEOUT_S)
        except grpc.RpcError as error:
            raise ShopUnreachable(
                f"could not read the email outbox at {self.email_target} ({error.code().name}: {error.details()}); "
                "is the email service running?"
            ) from None
        return {Email(m.user_id, m.order_id, KINDS.get(m.kind, "other")) for m in reply.messages}


@dataclass
class InvariantReport:
    """The outcome of the check: what was compared, and every violation found."""

    counts: dict[str, int] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every invariant holds."""
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON."""
        return {"ok": self.ok, "counts": self.counts, "violations": [asdict(v) for v in self.violations]}


def check_orders_and_cart(shop: Shop, expected: Expectation) -> list[Violation]:
    """Compare one user's stored orders and cart with what the client was told."""
    violations = [*expected.seen, *order_violations(expected, shop.orders(expected.user))]
    if expected.cart is not None:
        broken = cart_violation(expected, shop.cart(expected.user))
        violations += [broken] if broken else []
    return violations


def wait_for_emails(
    shop: Shop,
    expected: Iterable[Expectation],
    wait_s: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, set[tuple[str, str]]]:
    """Poll the outbox until every expected email is in it or wait_s has passed; return what is still missing.

    Each round reads the newest emails of everyone in one call (where emails the relay just delivered
    are), then asks for the emails of each user still missing some, which costs the outbox a scan each.
    """
    owed = {e.user: e.emails for e in expected if e.emails}
    missing = {user: set(emails) for user, emails in owed.items()}
    deadline = clock() + wait_s

    def still_missing(user: str) -> set[tuple[str, str]]:
        delivered = {(email.order_id, email.kind) for email in shop.outbox(user, newest=len(owed[user]))}
        return missing[user] - delivered

    with ThreadPoolExecutor(WORKERS) as pool:
        while True:
            for email in shop.outbox():
                if email.user in missing:
                    missing[email.user].discard((email.order_id, email.kind))
            users = [user for user, emails in missing.items() if emails]
            found = pool.map(still_missing, users)
            missing = {user: emails for user, emails in zip(users, found, strict=True) if emails}
            if not missing or clock() >= deadline:
                return missing
            sleep(EMAIL_POLL_S)


def check(records: list[Record], shop: Shop, email_wait_s: float = EMAIL_WAIT_S) -> InvariantReport:
    """Check every invariant for every user of the journal."""
    expected = expectations(records)
    with ThreadPoolExecutor(WORKERS) as pool:
        per_user = pool.map(lambda expectation: check_orders_and_cart(shop, expectation), expected.values())
        found = [violation for violations in per_user for violation in violations]
    missing = wait_for_emails(shop, expected.values(), email_wait_s)
    for user, emails in sorted(missing.items()):
        listed = ", ".join(f"{kind} of {order_id}" for order_id, kind in sorted(emails))
        found.append(Violation("undelivered_email", user, f"not in the outbox after {email_wait_s:.0f} s: {listed}"))
    stored = shop.stored(expected)
    found += stored.violations
    emails = sum(len(e.emails) for e in expected.values())
    counts = {
        "users": len(expected),
        "orders_told_placed": sum(len(e.placed) for e in expected.values()),
        "orders_told_cancelled": sum(len(e.cancelled) for e in expected.values()),
        "checkouts_of_unknown_outcome": sum(e.unknown_checkouts for e in expected.values()),
        "carts_checked": sum(1 for e in expected.values() if e.cart is not None),
        "carts_not_checkable": sum(1 for e in expected.values() if e.cart is None),
        "emails_expected": emails,
        "emails_delivered": emails - sum(len(m) for m in missing.values()),
        **stored.counts,
    }
    return InvariantReport(counts, found)
