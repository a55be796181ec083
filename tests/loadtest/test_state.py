"""The stored-state check against a real Redis: each corruption of a user's records is caught and named."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
import redis

from loadtest.expectations import CONFIRMATION, DISCOUNT
from loadtest.invariants import OUTBOX_LIMIT, Email, check
from loadtest.journal import CHECKOUT, Record
from loadtest.state import FIRST_ORDER_MARK, StoredState, check_users
from services.cart.store import CartStore, UserKeys
from services.email.messages import Email as OutboxEmail
from services.email.messages import EmailKind
from services.email.outbox import STREAM_KEY, Outbox
from services.pricing.adjustments import first_order_adjustment

pytestmark = pytest.mark.functional

USER = "ada"
FIRST_ORDER_REASON = first_order_adjustment(1000).reason


class StoreShop:
    """The shop as the load check reads it, answered by the real cart store and outbox instead of the gateway."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.store = CartStore(client)
        self.outbox_of = Outbox(client)

    def orders(self, user: str) -> list[dict[str, Any]]:
        return [{"order_id": o.order_id, "status": o.status.value.lower()} for o in self.store.list_orders(user)]

    def cart(self, user: str) -> dict[str, int]:
        return {line.sku: line.quantity for line in self.store.get_cart(user).cart.lines}

    def outbox(self, user: str = "", newest: int = OUTBOX_LIMIT) -> set[Email]:
        entries = self.outbox_of.list(limit=newest, user_id=user)
        return {Email(e.email.user_id, e.email.order_id, e.email.kind.value) for e in entries}

    def stored(self, users: Iterable[str]) -> StoredState:
        return check_users(self.client, users)


class Run:
    """A user's checkouts, made through the real store and outbox, and the journal a load run would write."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.store = CartStore(client)
        self.outbox = Outbox(client)
        self.records: list[Record] = []

    def checkout(self, user: str, key: str, discount: int = 0, reason: str = FIRST_ORDER_REASON) -> str:
        """Fill the cart, apply a discount, place the order, record its emails; return the order id."""
        self.store.add_item(user, "COFFEE-1", "Coffee", 2, 1000, "USD")
        if discount:
            self.store.update_cart(user, discount, "USD", reason)
        order = self.store.place_order(user, key).order
        kinds = [EmailKind.ORDER_CONFIRMATION] + ([EmailKind.DISCOUNT] if discount else [])
        for kind in kinds:
            self.outbox.record(OutboxEmail(kind, f"{user}@example.com", user, order.order_id, "subject", "body"))
        self.records.append(
            Record(
                float(len(self.records)),
                user,
                "first",
                "POST",
                CHECKOUT,
                201,
                9.0,
                key=key,
                order_id=order.order_id,
                adjustment_cents=discount,
                email="sent",
            )
        )
        return order.order_id


@pytest.fixture
def run(redis_client: redis.Redis) -> Run:
    """Two orders of USER, the first with a first-order discount, over an otherwise empty Redis."""
    redis_client.flushdb()
    made = Run(redis_client)
    made.checkout(USER, "key-1", discount=200)
    made.checkout(USER, "key-2")
    made.checkout("grace", "key-1")
    return made


def caught(run: Run, kind: str, *named: str) -> None:
    """Both check_users and the whole load check report exactly one `kind` for USER, naming every `named`."""
    found = check_users(run.client, [USER, "grace"]).violations
    assert [(v.kind, v.user) for v in found] == [(kind, USER)], found
    assert all(name in found[0].detail for name in named), found[0].detail
    report = check(run.records, StoreShop(run.client), email_wait_s=0)  # type: ignore[arg-type]
    assert not report.ok
    assert [(v.kind, v.user) for v in report.violations] == [(kind, USER)], report.violations


def order_ids(run: Run) -> list[str]:
    """USER's order ids, oldest first."""
    return list(reversed(run.client.lrange(UserKeys(USER).orders, 0, -1)))


def test_a_consistent_store_passes_and_its_records_are_counted(run: Run):
    state = check_users(run.client, [USER, "grace"])

    assert state.ok, state.violations
    assert state.counts == {"users_inspected": 2, "order_documents": 3, "emails_in_outbox": 4}
    report = check(run.records, StoreShop(run.client), email_wait_s=0)  # type: ignore[arg-type]
    assert report.ok, report.violations
    assert report.counts["emails_expected"] == report.counts["emails_in_outbox"] == 4


def test_a_duplicated_outbox_entry_is_caught_by_count(run: Run):
    first = order_ids(run)[0]
    _entry_id, values = next((i, v) for i, v in run.client.xrange(STREAM_KEY) if v["order_id"] == first)
    run.client.xadd(STREAM_KEY, values)

    caught(run, "duplicate_email", first, CONFIRMATION, "2")


def test_a_duplicated_discount_email_is_caught(run: Run):
    first = order_ids(run)[0]
    values = next(v for _i, v in run.client.xrange(STREAM_KEY) if v["kind"] == DISCOUNT)
    run.client.xadd(STREAM_KEY, values)

    caught(run, "duplicate_email", first, DISCOUNT)


def test_an_order_removed_from_the_placed_set_is_caught(run: Run):
    second = order_ids(run)[1]
    run.client.srem(UserKeys(USER).placed, second)

    caught(run, "placed_set_mismatch", second, UserKeys(USER).placed)


def test_a_deleted_idempotency_entry_is_caught(run: Run):
    second = order_ids(run)[1]
    run.client.hdel(UserKeys(USER).idempotency, "key-2")

    caught(run, "idempotency_mismatch", second, "key-2")


def test_an_order_document_missing_from_the_list_is_caught(run: Run):
    second = order_ids(run)[1]
    run.client.lrem(UserKeys(USER).orders, 0, second)

    found = check_users(run.client, [USER]).violations
    assert [(v.kind, v.user) for v in found] == [("unlisted_order", USER)]
    assert second in found[0].detail
    report = check(run.records, StoreShop(run.client), email_wait_s=0)  # type: ignore[arg-type]
    assert ("unlisted_order", USER) in [(v.kind, v.user) for v in report.violations]


def test_an_order_listed_twice_and_a_missing_document_are_caught(run: Run):
    first, second = order_ids(run)
    keys = UserKeys(USER)
    run.client.lpush(keys.orders, first)
    run.client.delete(keys.order(second))

    found = {(v.kind, v.user): v.detail for v in check_users(run.client, [USER]).violations}
    assert first in found[("order_listed_twice", USER)]
    assert second in found[("missing_order_document", USER)]


def test_a_second_first_order_discount_is_caught(run: Run):
    keys = UserKeys(USER)
    first = order_ids(run)[0]
    # A lost placed-set entry makes the user look new; their next order is then priced as a first order.
    run.client.srem(keys.placed, first, order_ids(run)[1])
    again = run.checkout(USER, "key-3", discount=300)

    found = check_users(run.client, [USER]).violations
    seconds = [v for v in found if v.kind == "second_first_order_discount"]
    assert len(seconds) == 1
    assert again in seconds[0].detail
    assert first in seconds[0].detail
    assert {v.kind for v in found} == {"second_first_order_discount", "placed_set_mismatch"}


def test_a_first_order_discount_after_every_earlier_order_was_cancelled_is_allowed(run: Run):
    for order_id in order_ids(run):
        run.store.cancel_order(USER, order_id, "changed my mind")
    run.store.empty_cart(USER)
    run.checkout(USER, "key-3", discount=300)

    assert check_users(run.client, [USER]).ok


def test_emails_for_unknown_orders_and_unwarranted_discounts_are_caught(run: Run):
    second = order_ids(run)[1]
    run.outbox.record(OutboxEmail(EmailKind.DISCOUNT, "ada@example.com", USER, second, "s", "b"))
    run.outbox.record(OutboxEmail(EmailKind.ORDER_CONFIRMATION, "ada@example.com", USER, "no-such-order", "s", "b"))

    found = {(v.kind, v.user): v.detail for v in check_users(run.client, [USER]).violations}
    assert second in found[("unwarranted_discount_email", USER)]
    assert "no-such-order" in found[("email_without_order", USER)]


def test_the_first_order_mark_matches_the_reason_pricing_gives():
    assert FIRST_ORDER_REASON.endswith(FIRST_ORDER_MARK)


def test_users_outside_the_check_are_not_read(run: Run):
    run.client.srem(UserKeys("grace").placed, *run.client.smembers(UserKeys("grace").placed))

    assert check_users(run.client, [USER]).ok
    assert not check_users(run.client, ["grace"]).ok
