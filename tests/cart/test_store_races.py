"""PlaceOrder under racing calls on a real Redis: one order per key, one order per cart."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest

from services.cart.errors import CartEmpty
from services.cart.store import CartStore

pytestmark = pytest.mark.integration

RACERS = 20
T = TypeVar("T")


def race(call: Callable[[], T], racers: int = RACERS) -> list[T | Exception]:
    """Run call in many threads released at the same instant; return each result or error."""
    start = threading.Barrier(racers)

    def attempt() -> T | Exception:
        start.wait()
        try:
            return call()
        except Exception as error:  # collected so the test can count each outcome
            return error

    with ThreadPoolExecutor(racers) as pool:
        return list(pool.map(lambda _: attempt(), range(racers)))


def test_racing_calls_with_one_key_make_exactly_one_order(store: CartStore, user_id: str) -> None:
    store.add_item(user_id, "MUG-1", "Enamel mug", 2, 1250, "USD")

    results = race(lambda: store.place_order(user_id, "key-1"))

    assert all(not isinstance(result, Exception) for result in results), results
    assert len({result.order.order_id for result in results}) == 1
    assert sum(not result.replayed for result in results) == 1
    assert len(store.list_orders(user_id)) == 1


def test_racing_calls_with_different_keys_order_the_cart_once(store: CartStore, user_id: str) -> None:
    store.add_item(user_id, "MUG-1", "Enamel mug", 2, 1250, "USD")

    results = race(lambda: store.place_order(user_id, str(uuid.uuid4())))

    refused = [result for result in results if isinstance(result, Exception)]
    assert len(refused) == RACERS - 1
    assert all(isinstance(error, CartEmpty) for error in refused), refused
    assert len(store.list_orders(user_id)) == 1
