"""The store's edges on a real Redis: reasons too long, unknown orders, what a cart view counts, a racing cancel."""

from __future__ import annotations

from datetime import UTC

import pytest
import redis

from services.cart import store as store_module
from services.cart.domain import Cart, Line, OrderStatus
from services.cart.errors import InvalidInput, OrderNotFound
from services.cart.store import CartStore

pytestmark = pytest.mark.functional


def test_a_cancel_reason_over_200_characters_is_refused_naming_the_field(store: CartStore, user_id: str) -> None:
    store.add_item(user_id, "MUG-1", "Enamel mug", 2, 1250, "USD")
    order = store.place_order(user_id, "key-1").order

    with pytest.raises(InvalidInput, match=r"^reason is 201 characters long; use at most 200$"):
        store.cancel_order(user_id, order.order_id, "x" * 201)

    assert store.list_orders(user_id)[0].status is OrderStatus.PLACED


def test_an_item_added_while_a_cancel_runs_is_kept_beside_the_restored_lines(
    store: CartStore, redis_client: redis.Redis, user_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add_item(user_id, "MUG-1", "Enamel mug", 2, 1250, "USD")
    order = store.place_order(user_id, "key-1").order
    other_client = CartStore(redis.Redis(connection_pool=redis_client.connection_pool))
    restore = Cart.restore
    added = []

    def restore_while_another_client_adds(cart: Cart, lines: tuple[Line, ...]) -> Cart:
        # Between the cancel's read of the cart and its write, another request adds an item.
        if not added:
            added.append(other_client.add_item(user_id, "TEE-2", "Tee", 1, 2000, "USD"))
        return restore(cart, lines)

    monkeypatch.setattr(store_module.Cart, "restore", restore_while_another_client_adds)

    store.cancel_order(user_id, order.order_id, "changed my mind")

    assert {line.sku: line.quantity for line in store.get_cart(user_id).cart.lines} == {"MUG-1": 2, "TEE-2": 1}


def test_a_discount_reason_over_200_characters_is_refused_naming_the_field(store: CartStore, user_id: str) -> None:
    store.add_item(user_id, "MUG-1", "Enamel mug", 2, 1250, "USD")

    with pytest.raises(InvalidInput, match=r"^reason is 201 characters long; use at most 200$"):
        store.update_cart(user_id, 100, "USD", "x" * 201)

    assert store.get_cart(user_id).cart.adjustment == 0


def test_cancelling_an_unknown_order_names_it(store: CartStore, user_id: str) -> None:
    with pytest.raises(OrderNotFound, match=r"^there is no order 'no-such-order' for this user"):
        store.cancel_order(user_id, "no-such-order", "")


def test_a_cart_view_names_its_user_and_counts_the_orders_that_still_stand(store: CartStore, user_id: str) -> None:
    placed = []
    for key in ("key-1", "key-2"):
        store.add_item(user_id, "MUG-1", "Enamel mug", 1, 1250, "USD")
        placed.append(store.place_order(user_id, key).order)
    store.cancel_order(user_id, placed[0].order_id, "")

    view = store.get_cart(user_id)

    assert (view.user_id, view.first_order, view.previous_orders) == (user_id, False, 1)
    assert placed[1].created_at.tzinfo is UTC
    assert store.list_orders(user_id)[0].created_at.tzinfo is not None
