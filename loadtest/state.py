"""The stored state of some users, checked record by record: `check_users(client, users)`.

The clients' view (invariants.py) cannot see the shop's own indexes. This check reads Redis
directly and demands that, for every user named:

1. the order list, the order documents, the placed set and the idempotency index agree: each
   order is listed exactly once and has a document; each document is listed; the placed set holds
   exactly the orders whose status is PLACED; every order's idempotency key leads back to it and
   every key leads to an order placed with it;
2. a first-order discount is never given twice: no order that still stands carries one while an
   older order of the same user also stands (that older order made the user a returning customer);
3. the outbox holds at most one confirmation per order and one discount email per discounted
   order, counted, not merely present (at-least-once is not exactly-once), and no email about an
   order the user does not have.

The load check, the soak and the explore oracle all call check_users; it only reads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import redis

from loadtest.expectations import CONFIRMATION, DISCOUNT, Violation
from services.cart.domain import Order, OrderStatus
from services.cart.store import UserKeys
from services.email.outbox import STREAM_KEY

# The end of the reason pricing gives a first-order discount ("10% off your first order").
FIRST_ORDER_MARK = "off your first order"
# Keys and stream entries read per round trip.
PAGE = 1000


@dataclass
class StoredState:
    """What check_users found: counts of the records it read, and every violation."""

    counts: dict[str, int] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every stored record agrees with the others."""
        return not self.violations


@dataclass
class UserRecords:
    """One user's records as Redis holds them."""

    listed: list[str]
    documents: dict[str, Order]
    placed: set[str]
    idempotency: dict[str, str]
    emails: Counter[tuple[str, str]]  # (order id, kind) -> entries in the outbox


def _order_documents(client: redis.Redis, users: set[str]) -> dict[str, dict[str, str]]:
    """The raw order documents of the named users, found by key so that an unlisted one is found too."""
    found: dict[str, dict[str, str]] = {user: {} for user in users}
    keys = list(client.scan_iter(match="cart:{*}:order:*", count=PAGE))
    owners = []
    for key in keys:
        head, _, order_id = key.rpartition("}:order:")
        user = head.removeprefix("cart:{")
        if user in found:
            owners.append((user, order_id, key))
    for start in range(0, len(owners), PAGE):
        chunk = owners[start : start + PAGE]
        documents = client.mget([key for _, _, key in chunk])
        for (user, order_id, _key), document in zip(chunk, documents, strict=True):
            if document is not None:
                found[user][order_id] = document
    return found


def _outbox_emails(client: redis.Redis, users: set[str], stream_key: str) -> dict[str, Counter[tuple[str, str]]]:
    """How many outbox entries each named user has, per (order id, kind)."""
    emails: dict[str, Counter[tuple[str, str]]] = {user: Counter() for user in users}
    oldest = "-"
    while True:
        batch = client.xrange(stream_key, min=oldest, max="+", count=PAGE)
        for _entry_id, values in batch:
            user = values.get("user_id", "")
            if user in emails:
                emails[user][(values.get("order_id", ""), values.get("kind", ""))] += 1
        if len(batch) < PAGE:
            return emails
        oldest = f"({batch[-1][0]}"


def read_users(client: redis.Redis, users: Iterable[str], stream_key: str = STREAM_KEY) -> dict[str, UserRecords]:
    """Every record of the named users: order list, order documents, placed set, idempotency index, emails."""
    wanted = set(users)
    documents = _order_documents(client, wanted)
    emails = _outbox_emails(client, wanted, stream_key)
    records = {}
    for user in sorted(wanted):
        keys = UserKeys(user)
        with client.pipeline(transaction=False) as pipe:
            listed, placed, idempotency = (
                pipe.lrange(keys.orders, 0, -1).smembers(keys.placed).hgetall(keys.idempotency).execute()
            )
        parsed = {order_id: Order.from_json(document) for order_id, document in documents[user].items()}
        records[user] = UserRecords(listed, parsed, set(placed), idempotency, emails[user])
    return records


def index_violations(user: str, records: UserRecords) -> list[Violation]:
    """The order list, the order documents, the placed set and the idempotency index agree."""
    keys = UserKeys(user)
    found = []
    for order_id, times in sorted(Counter(records.listed).items()):
        if times > 1:
            found.append(Violation("order_listed_twice", user, f"order {order_id} is in {keys.orders} {times} times"))
        if order_id not in records.documents:
            detail = f"{keys.orders} names order {order_id} but its document {keys.order(order_id)} does not exist"
            found.append(Violation("missing_order_document", user, detail))
    for order_id in sorted(set(records.documents) - set(records.listed)):
        detail = f"order document {keys.order(order_id)} is not in the user's order list {keys.orders}"
        found.append(Violation("unlisted_order", user, detail))
    standing = {order_id for order_id, order in records.documents.items() if order.status is OrderStatus.PLACED}
    for order_id in sorted(standing - records.placed):
        detail = (
            f"order {order_id} is PLACED but not in the placed set {keys.placed}: the shop would count the user "
            "as a first-time customer and could give a second first-order discount"
        )
        found.append(Violation("placed_set_mismatch", user, detail))
    for order_id in sorted(records.placed - standing):
        order = records.documents.get(order_id)
        status = order.status.value if order else "missing"
        detail = f"the placed set {keys.placed} holds order {order_id}, whose document is {status}"
        found.append(Violation("placed_set_mismatch", user, detail))
    found += _idempotency_violations(user, records)
    return found


def _idempotency_violations(user: str, records: UserRecords) -> list[Violation]:
    keys = UserKeys(user)
    found = []
    for order_id, order in sorted(records.documents.items()):
        if order.order_id != order_id or order.user_id != user:
            detail = f"document {keys.order(order_id)} holds order {order.order_id} of user {order.user_id}"
            found.append(Violation("misfiled_order", user, detail))
        indexed = records.idempotency.get(order.idempotency_key)
        if indexed != order_id:
            detail = (
                f"order {order_id} was placed with idempotency key {order.idempotency_key!r}, but {keys.idempotency} "
                f"maps it to {indexed or 'nothing'}: a retry with that key would not replay this order"
            )
            found.append(Violation("idempotency_mismatch", user, detail))
    for key, order_id in sorted(records.idempotency.items()):
        order = records.documents.get(order_id)
        if order is None or order.idempotency_key != key:
            detail = f"{keys.idempotency} maps key {key!r} to order {order_id}, which was not placed with that key"
            found.append(Violation("idempotency_mismatch", user, detail))
    return found


def discount_violations(user: str, records: UserRecords) -> list[Violation]:
    """No standing order carries a first-order discount while an older order of the user stands too."""
    standing = sorted(
        (order for order in records.documents.values() if order.status is OrderStatus.PLACED),
        key=lambda order: order.created_at,
    )
    found = []
    for later_index, order in enumerate(standing):
        if later_index and order.adjustment > 0 and order.adjustment_reason.endswith(FIRST_ORDER_MARK):
            detail = (
                f"order {order.order_id} got a first-order discount ({order.adjustment_reason}) although order "
                f"{standing[0].order_id}, placed before it, still stands: a first-order discount given twice"
            )
            found.append(Violation("second_first_order_discount", user, detail))
    return found


def email_violations(user: str, records: UserRecords) -> list[Violation]:
    """At most one confirmation per order, one discount email per discounted order, none for unknown orders."""
    found = []
    for (order_id, kind), times in sorted(records.emails.items()):
        order = records.documents.get(order_id)
        if times > 1:
            detail = f"the outbox holds {times} {kind} emails for order {order_id}; exactly one may be sent"
            found.append(Violation("duplicate_email", user, detail))
        if order is None:
            detail = f"the outbox holds a {kind} email for order {order_id}, which the user does not have"
            found.append(Violation("email_without_order", user, detail))
        elif kind == DISCOUNT and order.adjustment == 0:
            detail = f"the outbox holds a discount email for order {order_id}, which got no discount"
            found.append(Violation("unwarranted_discount_email", user, detail))
        elif kind not in (CONFIRMATION, DISCOUNT):
            found.append(Violation("unknown_email", user, f"the outbox holds a {kind!r} email for order {order_id}"))
    return found


def check_users(client: redis.Redis, users: Iterable[str], stream_key: str = STREAM_KEY) -> StoredState:
    """Check every stored record of these users against the others; the client must decode responses."""
    records = read_users(client, users, stream_key)
    violations: list[Violation] = []
    for user, held in records.items():
        violations += index_violations(user, held) + discount_violations(user, held) + email_violations(user, held)
    counts = {
        "users_inspected": len(records),
        "order_documents": sum(len(held.documents) for held in records.values()),
        "emails_in_outbox": sum(sum(held.emails.values()) for held in records.values()),
    }
    return StoredState(counts, violations)
