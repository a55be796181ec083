"""The sequential round trips of a checkout: which calls it makes, and how many Redis round trips each one costs.

The calls follow services/gateway/checkout.py (the hard path, nothing failing). The Redis round trips are
not guessed: the same store code the services run (CartStore, Outbox, the gateway's OpsLog) is run here
against a real Redis through a connection that counts every request it sends (a pipeline or a
MULTI/EXEC block is one round trip, a WATCH or a read inside a transaction is one each).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import redis

from purchase_lab.money import money
from services.cart.store import CartStore
from services.email.messages import order_confirmation
from services.email.outbox import Outbox
from services.gateway.ops_log import OpsLog

# The gRPC calls of each checkout the bench times, in order (services/gateway/checkout.py).
PATHS: dict[str, tuple[str, ...]] = {
    # A returning customer with no promo code: no discount, so no UpdateCart and no discount email.
    "returning": ("cart.GetCart", "pricing.GetAdjustment", "cart.PlaceOrder", "email.SendOrderConfirmation"),
    # A first order: the first-order discount is recorded on the cart and announced by a second email.
    "first_order": (
        "cart.GetCart",
        "pricing.GetAdjustment",
        "cart.UpdateCart",
        "cart.PlaceOrder",
        "email.SendOrderConfirmation",
        "email.SendDiscountEmail",
    ),
}
# What the gateway writes for the ops console on every checkout: not needed to place an order.
BOOKKEEPING = ("gateway.record_checkout", "gateway.count_request")


class _Counter:
    def __init__(self) -> None:
        self.count = 0


def counting_client(port: int, decode_responses: bool) -> tuple[redis.Redis, _Counter]:
    """A client of the Redis on port whose every request sent (one round trip) is counted."""
    counter = _Counter()

    class CountingConnection(redis.Connection):
        def send_packed_command(self, command: object, check_health: bool = True) -> None:
            counter.count += 1
            super().send_packed_command(command, check_health)

    pool = redis.ConnectionPool(
        connection_class=CountingConnection, host="127.0.0.1", port=port, decode_responses=decode_responses
    )
    return redis.Redis(connection_pool=pool), counter


def _trips(counter: _Counter, action: Callable[[], object]) -> tuple[int, object]:
    """The round trips action made, and what it returned."""
    before = counter.count
    result = action()
    return counter.count - before, result


def redis_round_trips(port: int) -> dict[str, int]:
    """Redis round trips of each call a checkout makes, counted by running the services' own store code."""
    text_client, text = counting_client(port, decode_responses=True)
    bytes_client, raw = counting_client(port, decode_responses=False)
    carts, outbox, ops = CartStore(text_client), Outbox(text_client), OpsLog(bytes_client)
    user = f"bench-hops-{uuid.uuid4().hex[:8]}"

    def confirm(order_id: str) -> object:
        return outbox.record(order_confirmation(f"{user}@example.com", user, order_id, money(100), 1))

    bytes_client.ping()  # connect (and say hello) before counting
    confirm("warm-up")  # the first call of a script loads it: a one-off, not part of every checkout
    counts: dict[str, int] = {}
    for round_number in range(2):  # the second round is what a returning customer's calls cost
        carts.add_item(user, "COF-ETH-250", "Coffee", 1, 1299, "EUR")
        counts["cart.GetCart"], _ = _trips(text, lambda: carts.get_cart(user))
        counts["cart.UpdateCart"], _ = _trips(text, lambda: carts.update_cart(user, 100, "EUR", "bench"))
        key = f"bench-{round_number}"
        counts["cart.PlaceOrder"], placed = _trips(text, lambda key=key: carts.place_order(user, key))
        counts["email.SendOrderConfirmation"], _ = _trips(text, lambda placed=placed: confirm(placed.order.order_id))
    counts["email.SendDiscountEmail"] = counts["email.SendOrderConfirmation"]
    counts["pricing.GetAdjustment"] = 0  # pricing keeps no state
    counts["gateway.record_checkout"], _ = _trips(raw, lambda: ops.record_checkout({"bench": True}, {"bench:n": 1}))
    counts["gateway.count_request"], _ = _trips(raw, lambda: ops.count_request(failed=False))
    return counts
