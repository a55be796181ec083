"""What the shop must hold after a run, from what the clients were told, and the comparisons that catch a breach."""

from __future__ import annotations

import pytest

from loadtest.expectations import (
    CONFIRMATION,
    DISCOUNT,
    cart_violation,
    expectations,
    missing_emails,
    order_violations,
)
from loadtest.journal import CHECKOUT, Record

pytestmark = pytest.mark.unit

USER = "load-returning-1"


class Journal:
    """One user's requests, in order, each made with a few words."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def add(self, status: int = 200, **cart: int) -> Journal:
        return self._record("POST", "/api/v1/cart/items", status, cart=dict(cart) if status == 200 else None)

    def look(self, **cart: int) -> Journal:
        return self._record("GET", "/api/v1/cart", 200, cart=dict(cart))

    def checkout(self, status: int, order: str = "", key: str = "k", error: str = "", **fields: object) -> Journal:
        return self._record("POST", CHECKOUT, status, order_id=order, key=key, error=error, **fields)

    def _record(self, method: str, endpoint: str, status: int, **fields: object) -> Journal:
        t = float(len(self.records))
        self.records.append(Record(t, USER, "returning", method, endpoint, status, 5.0, **fields))  # type: ignore[arg-type]
        return self

    def expected(self):
        return expectations(self.records)[USER]


def orders(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"order_id": order_id, "status": status} for order_id, status in pairs]


def test_a_told_order_stored_once_with_its_status_breaks_nothing():
    expected = Journal().add(A=1).checkout(201, "o-1", email="sent").expected()

    assert order_violations(expected, orders(("o-1", "placed"))) == []
    assert cart_violation(expected, {}) is None


@pytest.mark.parametrize(
    ("stored", "kind"),
    [
        ([], "lost_order"),
        ([("o-1", "placed"), ("o-1", "placed")], "duplicate_order"),
        ([("o-1", "cancelled")], "wrong_order_status"),
        ([("o-1", "placed"), ("o-2", "placed")], "unexpected_order"),
    ],
)
def test_each_way_an_order_can_be_wrong_is_caught(stored: list[tuple[str, str]], kind: str):
    expected = Journal().add(A=1).checkout(201, "o-1").expected()

    assert [violation.kind for violation in order_violations(expected, orders(*stored))] == [kind]


def test_a_checkout_that_never_got_an_answer_may_have_placed_one_order_but_not_two():
    expected = (
        Journal().add(A=1).checkout(503, key="k1", error="dependency_unavailable").checkout(0, key="k1").expected()
    )

    assert expected.unknown_checkouts == 1
    assert expected.cart is None  # the cart may or may not have been ordered
    assert order_violations(expected, orders(("o-9", "placed"))) == []
    assert [v.kind for v in order_violations(expected, orders(("o-9", "placed"), ("o-8", "placed")))] == [
        "unexpected_order"
    ]


def test_a_retry_that_gets_the_order_settles_the_checkout():
    expected = Journal().add(A=1).checkout(503, key="k1").checkout(201, "o-1", key="k1").expected()

    assert expected.unknown_checkouts == 0
    assert expected.cart == {}


def test_after_an_order_the_cart_must_be_empty_unless_items_were_added_since():
    ordered = Journal().add(A=1).checkout(201, "o-1")
    assert cart_violation(ordered.expected(), {"A": 1}).kind == "stale_cart"
    assert cart_violation(ordered.add(B=2).expected(), {"B": 2}) is None
    assert cart_violation(ordered.expected(), {"A": 1, "B": 2}).kind == "wrong_cart"


def test_a_client_that_sees_an_ordered_cart_still_full_records_it():
    expected = Journal().add(A=1).checkout(201, "o-1").look(A=1).expected()

    assert [violation.kind for violation in expected.seen] == ["stale_cart"]


def test_a_cancelled_order_puts_its_items_back_in_the_cart():
    expected = (
        Journal()
        .add(A=1)
        .checkout(503, "o-1", error="order_cancelled", dependency="email", order_status="cancelled")
        .expected()
    )

    assert expected.cancelled == {"o-1"}
    assert cart_violation(expected, {"A": 1}) is None
    assert cart_violation(expected, {}).kind == "wrong_cart"
    assert [v.kind for v in order_violations(expected, orders(("o-1", "placed")))] == ["wrong_order_status"]


def test_an_add_that_failed_on_the_server_side_makes_the_cart_uncheckable_until_the_client_looks():
    failed = Journal().add(A=1).add(503)
    assert failed.expected().cart is None
    assert failed.look(A=2).expected().cart == {"A": 2}
    assert Journal().add(A=1).add(422).expected().cart == {"A": 1}  # refused: nothing changed


def test_a_placed_order_owes_its_confirmation_and_its_discount_email():
    expected = (
        Journal()
        .add(A=1)
        .checkout(201, "o-1", adjustment_cents=150, email="queued")
        .add(B=1)
        .checkout(201, "o-2", key="k2", email="sent")
        .add(C=1)
        .checkout(201, "o-3", key="k3", email="not_sent")  # the email service refused it for good
        .expected()
    )

    assert expected.emails == {("o-1", CONFIRMATION), ("o-1", DISCOUNT), ("o-2", CONFIRMATION)}
    assert missing_emails(expected, {("o-1", CONFIRMATION), ("o-2", CONFIRMATION)}) == {("o-1", DISCOUNT)}
