"""CartStore: users' carts and orders in Redis, every change atomic.

Redis layout. Every key of one user carries the hash tag {user_id}, so a user's keys live on one
shard of a Redis Cluster and one transaction may span them:

    cart:{user_id}:cart            string  the cart as JSON (lines, promo code, adjustment); absent when empty
    cart:{user_id}:orders          list    the user's order ids, newest first
    cart:{user_id}:order:<id>      string  one order as JSON
    cart:{user_id}:placed          set     ids of the user's orders whose status is PLACED
    cart:{user_id}:idempotency     hash    idempotency key -> id of the order it placed

Every change is an optimistic transaction: WATCH the keys it reads, compute the new values in
Python (the rules live in domain.py), then write them all in one MULTI/EXEC. When another client
changed a watched key in between, Redis refuses the EXEC and redis-py runs the change again on
fresh data. So no update is lost, and two racing PlaceOrder calls cannot make two orders from one
key or one cart: the loser re-reads and finds the key used (a replay) or the cart empty.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import NamedTuple, TypeVar

import redis
from redis.client import Pipeline

from services.cart.domain import Cart, CartView, Line, Order, OrderStatus
from services.cart.errors import CartEmpty, IdempotencyKeyReused, OrderNotFound
from services.cart.validation import (
    check_idempotency_key,
    check_order_id,
    check_promo_code,
    check_sku,
    check_text,
    check_user_id,
)

DEFAULT_CANCEL_REASON = "cancelled on request"

T = TypeVar("T")


class UserKeys:
    """The Redis keys that hold one user's cart and orders."""

    def __init__(self, user_id: str) -> None:
        prefix = f"cart:{{{user_id}}}"
        self.cart = f"{prefix}:cart"
        self.orders = f"{prefix}:orders"
        self.placed = f"{prefix}:placed"
        self.idempotency = f"{prefix}:idempotency"
        self._order_prefix = f"{prefix}:order:"

    def order(self, order_id: str) -> str:
        """The key of one order."""
        return self._order_prefix + order_id


class PlacedOrder(NamedTuple):
    """What PlaceOrder returns: the order, and whether an earlier call with the same key made it."""

    order: Order
    replayed: bool


class CartStore:
    """Carts and orders of every user, kept in one Redis.

    The client must decode responses (`redis.Redis(..., decode_responses=True)`): the store
    works with text, not bytes.
    """

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def get_cart(self, user_id: str) -> CartView:
        """The user's cart (empty when there is none) and whether a discount may apply."""
        check_user_id(user_id)
        keys = UserKeys(user_id)
        with self._redis.pipeline(transaction=True) as pipe:
            document, placed = pipe.get(keys.cart).scard(keys.placed).execute()
        return CartView(user_id, Cart.from_json(document), first_order=placed == 0, previous_orders=placed)

    def add_item(self, user_id: str, sku: str, name: str, quantity: int, unit_price: int, currency: str) -> CartView:
        """Add quantity of a product at this name and unit price; a line may hold at most 99."""
        check_user_id(user_id)
        line = Line.new(sku, name, quantity, unit_price, currency)
        return self._change_cart(user_id, lambda cart: cart.add(line))

    def remove_item(self, user_id: str, sku: str) -> CartView:
        """Remove the line of sku; ItemNotInCart when the cart has none."""
        check_user_id(user_id)
        check_sku(sku)
        return self._change_cart(user_id, lambda cart: cart.remove(sku))

    def empty_cart(self, user_id: str) -> CartView:
        """Remove every line, the promo code and any adjustment."""
        check_user_id(user_id)
        return self._change_cart(user_id, lambda _cart: Cart())

    def set_promo_code(self, user_id: str, code: str) -> CartView:
        """Record a promo code on the cart; an empty code removes it."""
        check_user_id(user_id)
        check_promo_code(code)
        return self._change_cart(user_id, lambda cart: cart.with_promo_code(code))

    def update_cart(self, user_id: str, amount: int, currency: str, reason: str) -> CartView:
        """Apply a discount (0 to the subtotal, in the cart's currency), replacing any earlier one."""
        check_user_id(user_id)
        check_text("reason", reason)
        return self._change_cart(user_id, lambda cart: cart.with_adjustment(amount, currency, reason))

    def place_order(self, user_id: str, idempotency_key: str) -> PlacedOrder:
        """Turn the cart into an order and empty the cart, at most once per idempotency key."""
        check_user_id(user_id)
        check_idempotency_key(idempotency_key)
        keys = UserKeys(user_id)
        order_id = str(uuid.uuid4())

        def place(pipe: Pipeline) -> PlacedOrder | None:
            earlier_id = pipe.hget(keys.idempotency, idempotency_key)
            cart = Cart.from_json(pipe.get(keys.cart))
            if earlier_id is not None:
                earlier = _read_order(pipe, keys, earlier_id)
                # A retry finds the cart emptied by its own placement; a cart holding other items means
                # the key is being used for a new order, which must not silently get the old one.
                if cart.lines and _quantities(cart.lines) != _quantities(earlier.lines):
                    raise IdempotencyKeyReused(earlier.order_id)
                return PlacedOrder(earlier, replayed=True)
            if not cart.lines:
                # The two reads may straddle a racing placement with this key. An EXEC tells: WATCH fails
                # it when either key changed, and the transaction runs place() again (then as a replay).
                pipe.multi()
                pipe.exists(keys.cart)
                return None
            order = Order.from_cart(
                cart,
                order_id=order_id,
                user_id=user_id,
                idempotency_key=idempotency_key,
                created_at=datetime.now(UTC),
            )
            pipe.multi()
            pipe.set(keys.order(order_id), order.to_json())
            pipe.lpush(keys.orders, order_id)
            pipe.sadd(keys.placed, order_id)
            pipe.hset(keys.idempotency, idempotency_key, order_id)
            pipe.delete(keys.cart)
            return PlacedOrder(order, replayed=False)

        placed = self._transaction(place, keys.idempotency, keys.cart)
        if placed is None:
            raise CartEmpty()
        return placed

    def cancel_order(self, user_id: str, order_id: str, reason: str) -> Order:
        """Mark a placed order cancelled and put its lines back in the cart; a cancelled one is returned as is."""
        check_user_id(user_id)
        check_order_id(order_id)
        check_text("reason", reason)
        keys = UserKeys(user_id)

        def cancel(pipe: Pipeline) -> Order:
            order = _read_order(pipe, keys, order_id)
            if order.status is OrderStatus.CANCELLED:
                return order
            cancelled = order.cancel(reason or DEFAULT_CANCEL_REASON)
            cart = Cart.from_json(pipe.get(keys.cart)).restore(order.lines)
            pipe.multi()
            pipe.set(keys.order(order_id), cancelled.to_json())
            pipe.srem(keys.placed, order_id)
            _write_cart(pipe, keys, cart)
            return cancelled

        return self._transaction(cancel, keys.order(order_id), keys.cart)

    def list_orders(self, user_id: str) -> list[Order]:
        """The user's orders, newest first."""
        check_user_id(user_id)
        keys = UserKeys(user_id)
        order_ids = self._redis.lrange(keys.orders, 0, -1)
        if not order_ids:
            return []
        documents = self._redis.mget([keys.order(order_id) for order_id in order_ids])
        return [Order.from_json(document) for document in documents if document is not None]

    def _change_cart(self, user_id: str, change: Callable[[Cart], Cart]) -> CartView:
        """Read the cart, apply change, and write the result, all in one transaction."""
        keys = UserKeys(user_id)

        def apply(pipe: Pipeline) -> CartView:
            cart = change(Cart.from_json(pipe.get(keys.cart)))
            placed = pipe.scard(keys.placed)
            pipe.multi()
            _write_cart(pipe, keys, cart)
            return CartView(user_id, cart, first_order=placed == 0, previous_orders=placed)

        return self._transaction(apply, keys.cart, keys.placed)

    def _transaction(self, body: Callable[[Pipeline], T], *watched: str) -> T:
        """Run body with watched keys under WATCH, then EXEC what it queued; rerun it if a key changed."""
        return self._redis.transaction(body, *watched, value_from_callable=True)


def _read_order(pipe: Pipeline, keys: UserKeys, order_id: str) -> Order:
    document = pipe.get(keys.order(order_id))
    if document is None:
        raise OrderNotFound(order_id)
    return Order.from_json(document)


def _write_cart(pipe: Pipeline, keys: UserKeys, cart: Cart) -> None:
    # An empty cart is no key at all, so abandoned empty carts cost no memory.
    if cart == Cart():
        pipe.delete(keys.cart)
    else:
        pipe.set(keys.cart, cart.to_json())


def _quantities(lines: tuple[Line, ...]) -> dict[str, int]:
    """How many of each SKU the lines hold."""
    return {line.sku: line.quantity for line in lines}
