"""CancelOrder's edges on a real Redis: a reason too long, and a cart changed while the cancel is under way."""

from __future__ import annotations

import pytest
import redis

from services.cart import store as store_module
from services.cart.domain import Cart, Line, OrderStatus
from services.cart.errors import InvalidInput
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
