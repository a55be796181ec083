"""The invariant check end to end over a shop that answers from memory: what it reads, waits for and reports."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from loadtest.expectations import CONFIRMATION, expectations
from loadtest.invariants import OUTBOX_LIMIT, Email, check, wait_for_emails
from loadtest.journal import CHECKOUT, Record
from loadtest.state import StoredState

pytestmark = pytest.mark.unit


class MemoryShop:
    """Orders, carts and an outbox in memory; emails queued by the relay arrive after a few polls."""

    def __init__(self, orders: dict[str, list[dict[str, Any]]], emails: list[Email], late: list[Email]) -> None:
        self._orders = orders
        self._emails = emails
        self._late = late
        self.everyone_calls = 0
        self.inspected: list[str] = []

    def orders(self, user: str) -> list[dict[str, Any]]:
        return self._orders.get(user, [])

    def cart(self, user: str) -> dict[str, int]:
        return {}

    def outbox(self, user: str = "", newest: int = OUTBOX_LIMIT) -> set[Email]:
        if not user:
            self.everyone_calls += 1
            if self.everyone_calls == 3:
                self._emails += self._late  # the relay delivers once email is back
        return {email for email in self._emails if user in ("", email.user)}

    def stored(self, users: Iterable[str]) -> StoredState:
        self.inspected += users  # the stored records themselves are checked against Redis in test_state.py
        return StoredState({"users_inspected": len(self.inspected)})


def placed(user: str, order_id: str) -> Record:
    """A checkout the client was told placed this order."""
    return Record(
        1.0, user, "first", "POST", CHECKOUT, 201, 9.0, key=f"k-{order_id}", order_id=order_id, email="queued"
    )


class Clock:
    """Time that passes only when the check sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_queued_emails_are_waited_for_until_the_relay_delivers_them():
    shop = MemoryShop({}, [], late=[Email("u1", "o-1", CONFIRMATION)])
    clock = Clock()

    missing = wait_for_emails(
        shop, expectations([placed("u1", "o-1")]).values(), 10, clock=lambda: clock.now, sleep=clock.sleep
    )

    assert missing == {}
    assert shop.everyone_calls == 3
    assert 0 < clock.now < 10


def test_an_email_that_never_arrives_is_reported_after_the_wait():
    shop = MemoryShop({"u1": [{"order_id": "o-1", "status": "placed"}]}, [], late=[])
    result = check([placed("u1", "o-1")], shop, email_wait_s=0)  # type: ignore[arg-type]

    assert not result.ok
    assert [(v.kind, v.user) for v in result.violations] == [("undelivered_email", "u1")]
    assert result.counts["emails_expected"] == 1
    assert result.counts["emails_delivered"] == 0
    assert shop.inspected == ["u1"]


def test_a_lost_order_and_a_delivered_email_are_told_apart():
    shop = MemoryShop({}, [Email("u1", "o-1", CONFIRMATION)], late=[])
    result = check([placed("u1", "o-1")], shop, email_wait_s=0)  # type: ignore[arg-type]

    assert [v.kind for v in result.violations] == ["lost_order"]
    assert result.counts["emails_delivered"] == 1
