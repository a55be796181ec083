"""The store's edges on a real Redis: reasons too long, unknown orders, what a cart view counts, a racing cancel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC

import pytest
import redis

from services.cart.domain import Cart, Order, OrderStatus
from services.cart.errors import InvalidInput, OrderNotFound
from services.cart.store import CartStore

pytestmark = pytest.mark.functional


def another_client(redis_client: redis.Redis) -> CartStore:
    """A store over a connection of its own to the same Redis, as another gateway request would have."""
    settings = redis_client.connection_pool.connection_kwargs
    return CartStore(redis.Redis(host=settings["host"], port=settings["port"], decode_responses=True))


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
    other = another_client(redis_client)
    # Between the cancel's read of the cart and its write, another request adds an item.
    meanwhile(monkeypatch, Cart, "restore", lambda: other.add_item(user_id, "TEE-2", "Tee", 1, 2000, "USD"))

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


def test_a_cart_change_returns_the_view_of_its_user_with_the_orders_that_stand(store: CartStore, user_id: str) -> None:
    first = store.add_item(user_id, "MUG-1", "Enamel mug", 1, 1250, "USD")
    store.place_order(user_id, "key-1")

    again = store.add_item(user_id, "MUG-1", "Enamel mug", 1, 1250, "USD")

    assert (first.user_id, first.first_order, first.previous_orders) == (user_id, True, 0)
    assert (again.user_id, again.first_order, again.previous_orders) == (user_id, False, 1)


def meanwhile(monkeypatch: pytest.MonkeyPatch, owner: type, method: str, change: Callable[[], object]) -> None:
    """Run change once, from another client, the first time owner.method runs: inside the store's transaction."""
    original = getattr(owner, method)
    done = []

    def interleaved(*args: object, **kwargs: object) -> object:
        if not done:
            done.append(True)  # before the change, which may run the same method in the other client
            change()
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, method, interleaved)


def test_an_item_added_while_another_add_runs_is_not_lost(
    store: CartStore, redis_client: redis.Redis, user_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = another_client(redis_client)
    meanwhile(monkeypatch, Cart, "add", lambda: other.add_item(user_id, "TEE-2", "Tee", 1, 2000, "USD"))

    store.add_item(user_id, "MUG-1", "Enamel mug", 2, 1250, "USD")

    assert {line.sku: line.quantity for line in store.get_cart(user_id).cart.lines} == {"MUG-1": 2, "TEE-2": 1}


def test_an_item_added_while_the_order_is_placed_is_ordered_or_kept_never_lost(
    store: CartStore, redis_client: redis.Redis, user_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add_item(user_id, "MUG-1", "Enamel mug", 2, 1250, "USD")
    other = another_client(redis_client)
    meanwhile(monkeypatch, Order, "from_cart", lambda: other.add_item(user_id, "TEE-2", "Tee", 1, 2000, "USD"))

    order = store.place_order(user_id, "key-1").order

    ordered = {line.sku: line.quantity for line in order.lines}
    kept = {line.sku: line.quantity for line in store.get_cart(user_id).cart.lines}
    assert {**ordered, **kept} == {"MUG-1": 2, "TEE-2": 1}
