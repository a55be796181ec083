"""Integration tests of CartStore against a real Redis: every operation and every error."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis

from services.cart.domain import OrderStatus
from services.cart.errors import (
    CartEmpty,
    IdempotencyKeyReused,
    InvalidAdjustment,
    InvalidInput,
    InvalidQuantity,
    ItemNotInCart,
    OrderNotFound,
)
from services.cart.store import CartStore

pytestmark = pytest.mark.integration


def add_mug(store: CartStore, user_id: str, quantity: int = 2) -> None:
    """Add Enamel mugs at $12.50 each."""
    store.add_item(user_id, "MUG-1", "Enamel mug", quantity, 1250, "USD")


def add_lamp(store: CartStore, user_id: str) -> None:
    """Add one Desk lamp at $49.99."""
    store.add_item(user_id, "LAMP-2", "Desk lamp", 1, 4999, "USD")


def test_a_new_user_has_an_empty_cart_and_a_first_order(store: CartStore, user_id: str) -> None:
    view = store.get_cart(user_id)

    assert (view.cart.lines, view.cart.subtotal, view.cart.total) == ((), 0, 0)
    assert (view.first_order, view.discount_eligible) == (True, True)


def test_items_added_are_kept_and_merged(store: CartStore, user_id: str) -> None:
    add_mug(store, user_id)
    add_lamp(store, user_id)
    add_mug(store, user_id, quantity=3)

    cart = store.get_cart(user_id).cart
    assert [(line.sku, line.quantity) for line in cart.lines] == [("MUG-1", 5), ("LAMP-2", 1)]
    assert cart.subtotal == 5 * 1250 + 4999


def test_a_refused_add_leaves_the_cart_as_it_was(store: CartStore, user_id: str) -> None:
    add_mug(store, user_id, quantity=98)

    with pytest.raises(InvalidQuantity, match="add at most 1 more"):
        add_mug(store, user_id, quantity=2)
    with pytest.raises(InvalidQuantity, match="quantity must be from 1 to 99"):
        store.add_item(user_id, "LAMP-2", "Desk lamp", 100, 4999, "USD")

    assert [(line.sku, line.quantity) for line in store.get_cart(user_id).cart.lines] == [("MUG-1", 98)]


def test_removing_an_item(store: CartStore, user_id: str) -> None:
    add_mug(store, user_id)
    add_lamp(store, user_id)

    view = store.remove_item(user_id, "MUG-1")

    assert [line.sku for line in view.cart.lines] == ["LAMP-2"]
    with pytest.raises(ItemNotInCart, match="'MUG-1' is not in the cart"):
        store.remove_item(user_id, "MUG-1")


def test_emptying_removes_lines_promo_code_and_adjustment(store: CartStore, user_id: str) -> None:
    add_mug(store, user_id)
    store.set_promo_code(user_id, "SPRING15")
    store.update_cart(user_id, 250, "USD", "SPRING15")

    store.empty_cart(user_id)

    cart = store.get_cart(user_id).cart
    assert (cart.lines, cart.promo_code, cart.adjustment, cart.adjustment_reason) == ((), "", 0, "")


def test_a_promo_code_is_recorded_and_removed_with_an_empty_code(store: CartStore, user_id: str) -> None:
    assert store.set_promo_code(user_id, "SPRING15").cart.promo_code == "SPRING15"
    assert store.set_promo_code(user_id, "").cart.promo_code == ""
    with pytest.raises(InvalidInput, match="is not a code"):
        store.set_promo_code(user_id, "SPRING 15")


def test_an_adjustment_is_applied_and_checked(store: CartStore, user_id: str) -> None:
    add_mug(store, user_id)

    view = store.update_cart(user_id, 250, "USD", "10% off a first order")

    assert (view.cart.adjustment, view.cart.adjustment_reason, view.cart.total) == (250, "10% off a first order", 2250)
    with pytest.raises(InvalidAdjustment, match="outside 0 to the subtotal"):
        store.update_cart(user_id, 2501, "USD", "too much")
    with pytest.raises(InvalidAdjustment, match="the adjustment is in EUR but the cart is in USD"):
        store.update_cart(user_id, 100, "EUR", "wrong currency")
    assert store.get_cart(user_id).cart.adjustment == 250


def test_adding_or_removing_items_clears_the_adjustment(store: CartStore, user_id: str) -> None:
    add_mug(store, user_id)
    store.update_cart(user_id, 250, "USD", "10% off")
    assert store.add_item(user_id, "LAMP-2", "Desk lamp", 1, 4999, "USD").cart.adjustment == 0

    store.update_cart(user_id, 250, "USD", "10% off")
    assert store.remove_item(user_id, "LAMP-2").cart.adjustment == 0


def test_placing_an_order_freezes_the_cart_and_empties_it(store: CartStore, user_id: str) -> None:
    add_mug(store, user_id)
    add_lamp(store, user_id)
    store.set_promo_code(user_id, "SPRING15")
    store.update_cart(user_id, 1000, "USD", "SPRING15")

    placed = store.place_order(user_id, "key-1")

    order = placed.order
    assert placed.replayed is False
    assert (order.user_id, order.status, order.idempotency_key) == (user_id, OrderStatus.PLACED, "key-1")
    assert (order.subtotal, order.adjustment, order.total, order.promo_code) == (7499, 1000, 6499, "SPRING15")
    assert [line.sku for line in order.lines] == ["MUG-1", "LAMP-2"]
    after = store.get_cart(user_id)
    assert (after.cart.lines, after.cart.promo_code, after.cart.adjustment) == ((), "", 0)
    assert store.list_orders(user_id) == [order]


def test_an_order_can_be_read_by_a_later_store(store: CartStore, redis_client: redis.Redis, user_id: str) -> None:
    add_mug(store, user_id)
    order = store.place_order(user_id, "key-1").order

    assert CartStore(redis_client).list_orders(user_id) == [order]


def test_an_empty_cart_cannot_be_ordered(store: CartStore, user_id: str) -> None:
    store.set_promo_code(user_id, "SPRING15")

    with pytest.raises(CartEmpty, match="the cart is empty; add items before checking out"):
        store.place_order(user_id, "key-1")
    assert store.list_orders(user_id) == []


def test_the_same_key_returns_the_same_order_and_changes_nothing(store: CartStore, user_id: str) -> None:
    add_mug(store, user_id)
    first = store.place_order(user_id, "key-1")

    again = store.place_order(user_id, "key-1")

    assert (again.order, again.replayed) == (first.order, True)
    assert len(store.list_orders(user_id)) == 1


def test_the_same_key_with_the_same_items_in_the_cart_replays(store: CartStore, user_id: str) -> None:
    add_mug(store, user_id)
    first = store.place_order(user_id, "key-1")
    add_mug(store, user_id)

    again = store.place_order(user_id, "key-1")

    assert (again.order, again.replayed) == (first.order, True)


def test_a_key_reused_for_a_cart_of_other_items_is_refused_and_changes_nothing(store: CartStore, user_id: str) -> None:
    add_mug(store, user_id)
    first = store.place_order(user_id, "key-1")
    add_lamp(store, user_id)

    with pytest.raises(IdempotencyKeyReused, match=first.order.order_id):
        store.place_order(user_id, "key-1")

    assert [line.sku for line in store.get_cart(user_id).cart.lines] == ["LAMP-2"]
    assert len(store.list_orders(user_id)) == 1


def test_keys_belong_to_one_user(store: CartStore, user_id: str) -> None:
    add_mug(store, user_id)
    add_mug(store, "someone-else")

    mine = store.place_order(user_id, "key-1")
    theirs = store.place_order("someone-else", "key-1")

    assert theirs.replayed is False
    assert theirs.order.order_id != mine.order.order_id


def test_orders_are_listed_newest_first(store: CartStore, user_id: str) -> None:
    order_ids = []
    for key in ("key-1", "key-2", "key-3"):
        add_mug(store, user_id)
        order_ids.append(store.place_order(user_id, key).order.order_id)

    assert [order.order_id for order in store.list_orders(user_id)] == order_ids[::-1]


def test_cancelling_marks_the_order_and_restores_the_cart(store: CartStore, user_id: str) -> None:
    add_mug(store, user_id, quantity=60)
    add_lamp(store, user_id)
    order = store.place_order(user_id, "key-1").order
    add_mug(store, user_id, quantity=50)

    cancelled = store.cancel_order(user_id, order.order_id, "the email could not be sent")

    assert (cancelled.status, cancelled.cancel_reason) == (OrderStatus.CANCELLED, "the email could not be sent")
    assert store.list_orders(user_id) == [cancelled]
    cart = store.get_cart(user_id).cart
    assert [(line.sku, line.quantity) for line in cart.lines] == [("MUG-1", 99), ("LAMP-2", 1)]


def test_cancelling_twice_returns_the_cancelled_order_unchanged(store: CartStore, user_id: str) -> None:
    add_mug(store, user_id)
    order = store.place_order(user_id, "key-1").order
    first = store.cancel_order(user_id, order.order_id, "first reason")

    second = store.cancel_order(user_id, order.order_id, "second reason")

    assert second == first
    assert [line.quantity for line in store.get_cart(user_id).cart.lines] == [2]


def test_a_cancel_without_a_reason_records_a_default(store: CartStore, user_id: str) -> None:
    add_mug(store, user_id)
    order = store.place_order(user_id, "key-1").order

    assert store.cancel_order(user_id, order.order_id, "").cancel_reason == "cancelled on request"


def test_only_the_owner_can_cancel_an_order(store: CartStore, user_id: str) -> None:
    add_mug(store, user_id)
    order = store.place_order(user_id, "key-1").order

    with pytest.raises(OrderNotFound, match="there is no order"):
        store.cancel_order("someone-else", order.order_id, "not mine")
    with pytest.raises(OrderNotFound):
        store.cancel_order(user_id, "no-such-order", "typo")


def test_eligibility_follows_placed_orders_and_promo_codes(store: CartStore, user_id: str) -> None:
    add_mug(store, user_id)
    order = store.place_order(user_id, "key-1").order

    after_order = store.get_cart(user_id)
    assert (after_order.first_order, after_order.discount_eligible) == (False, False)
    assert store.set_promo_code(user_id, "SPRING15").discount_eligible is True

    store.set_promo_code(user_id, "")
    store.cancel_order(user_id, order.order_id, "changed my mind")
    after_cancel = store.get_cart(user_id)
    assert (after_cancel.first_order, after_cancel.discount_eligible) == (True, True)


@pytest.mark.parametrize(
    "operation",
    [
        lambda store: store.get_cart(""),
        lambda store: store.add_item("bad id", "MUG-1", "Enamel mug", 1, 1250, "USD"),
        lambda store: store.remove_item("x" * 65, "MUG-1"),
        lambda store: store.empty_cart("u/1"),
        lambda store: store.set_promo_code("", "SPRING15"),
        lambda store: store.update_cart("", 0, "USD", ""),
        lambda store: store.place_order("", "key-1"),
        lambda store: store.cancel_order("", "o-1", ""),
        lambda store: store.list_orders(""),
    ],
)
def test_every_operation_checks_the_user_id(store: CartStore, operation: Callable[[CartStore], object]) -> None:
    with pytest.raises(InvalidInput, match="user_id"):
        operation(store)


@pytest.mark.parametrize("key", ["", "k" * 129, "tab\there"])
def test_place_order_checks_the_idempotency_key(store: CartStore, user_id: str, key: str) -> None:
    add_mug(store, user_id)

    with pytest.raises(InvalidInput, match="idempotency_key"):
        store.place_order(user_id, key)
    assert store.list_orders(user_id) == []
