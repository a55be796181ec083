"""A contract fake of the cart service: carts and orders in memory, answering as cart.proto promises."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from purchase.cart.v1 import cart_pb2, cart_pb2_grpc

from purchase_lab.money import money
from tests.gateway.fakes import Faults, faulty

MAX_QUANTITY = 99


@dataclass
class CartState:
    """One user's cart: lines by SKU as (name, quantity, unit price), promo code, adjustment."""

    lines: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    promo_code: str = ""
    adjustment: int = 0
    adjustment_reason: str = ""

    @property
    def subtotal(self) -> int:
        """The sum of the line totals."""
        return sum(quantity * price for _name, quantity, price in self.lines.values())


def line_messages(lines: dict[str, tuple[str, int, int]]) -> list[cart_pb2.CartLine]:
    """The lines as CartLine messages."""
    return [
        cart_pb2.CartLine(sku=sku, name=name, quantity=qty, unit_price=money(price), line_total=money(price * qty))
        for sku, (name, qty, price) in lines.items()
    ]


class FakeCart(cart_pb2_grpc.CartServiceServicer):
    """Carts and orders per user; PlaceOrder is atomic and idempotent on (user, key)."""

    def __init__(self) -> None:
        self.faults = Faults()
        self.carts: dict[str, CartState] = {}
        self.orders: dict[str, list[cart_pb2.Order]] = {}
        self.keys: dict[tuple[str, str], cart_pb2.Order] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def _cart(self, user_id: str) -> CartState:
        return self.carts.setdefault(user_id, CartState())

    def view(self, user_id: str) -> cart_pb2.Cart:
        """The user's cart as GetCart answers it."""
        state = self._cart(user_id)
        previous_orders = sum(o.status == cart_pb2.ORDER_STATUS_PLACED for o in self.orders.get(user_id, []))
        first_order = previous_orders == 0
        return cart_pb2.Cart(
            user_id=user_id,
            lines=line_messages(state.lines),
            subtotal=money(state.subtotal),
            promo_code=state.promo_code,
            adjustment=money(state.adjustment),
            adjustment_reason=state.adjustment_reason,
            total=money(max(0, state.subtotal - state.adjustment)),
            first_order=first_order,
            discount_eligible=first_order or bool(state.promo_code),
            previous_orders=previous_orders,
        )

    @faulty
    def GetCart(self, request, context):
        """The cart with its totals and discount eligibility."""
        return cart_pb2.GetCartResponse(cart=self.view(request.user_id))

    @faulty
    def AddItem(self, request, context):
        """Add to a line; INVALID_ARGUMENT beyond 99 of one product."""
        with self._lock:
            state = self._cart(request.user_id)
            _name, held, _price = state.lines.get(request.sku, ("", 0, 0))
            if not 1 <= request.quantity <= MAX_QUANTITY or held + request.quantity > MAX_QUANTITY:
                context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"the cart already holds {held} of {request.sku!r}; add at most {MAX_QUANTITY - held} more",
                )
            state.lines[request.sku] = (request.name, held + request.quantity, request.unit_price.minor_units)
            state.adjustment, state.adjustment_reason = 0, ""
            return cart_pb2.AddItemResponse(cart=self.view(request.user_id))

    @faulty
    def RemoveItem(self, request, context):
        """Remove a line; NOT_FOUND when it is not in the cart."""
        with self._lock:
            state = self._cart(request.user_id)
            if request.sku not in state.lines:
                context.abort(grpc.StatusCode.NOT_FOUND, f"SKU {request.sku!r} is not in the cart")
            del state.lines[request.sku]
            state.adjustment, state.adjustment_reason = 0, ""
            return cart_pb2.RemoveItemResponse(cart=self.view(request.user_id))

    @faulty
    def EmptyCart(self, request, context):
        """Forget the cart."""
        self.carts[request.user_id] = CartState()
        return cart_pb2.EmptyCartResponse(cart=self.view(request.user_id))

    @faulty
    def SetPromoCode(self, request, context):
        """Record the promo code as given."""
        self._cart(request.user_id).promo_code = request.code
        return cart_pb2.SetPromoCodeResponse(cart=self.view(request.user_id))

    @faulty
    def UpdateCart(self, request, context):
        """Apply a discount; INVALID_ARGUMENT outside 0 to the subtotal."""
        with self._lock:
            state = self._cart(request.user_id)
            if not 0 <= request.adjustment.minor_units <= state.subtotal:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the adjustment is outside 0 to the subtotal")
            state.adjustment, state.adjustment_reason = request.adjustment.minor_units, request.reason
            return cart_pb2.UpdateCartResponse(cart=self.view(request.user_id))

    @faulty
    def PlaceOrder(self, request, context):
        """Turn the cart into an order once per key; FAILED_PRECONDITION when the cart is empty."""
        with self._lock:
            placed = self.keys.get((request.user_id, request.idempotency_key))
            if placed is not None:
                return cart_pb2.PlaceOrderResponse(order=placed, replayed=True)
            cart = self.view(request.user_id)
            if not cart.lines:
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, "the cart is empty; add items before checking out")
            created_at = Timestamp()
            created_at.GetCurrentTime()
            order = cart_pb2.Order(
                order_id=f"ord-{next(self._ids)}",
                user_id=request.user_id,
                lines=cart.lines,
                subtotal=cart.subtotal,
                adjustment=cart.adjustment,
                adjustment_reason=cart.adjustment_reason,
                total=cart.total,
                promo_code=cart.promo_code,
                status=cart_pb2.ORDER_STATUS_PLACED,
                idempotency_key=request.idempotency_key,
                created_at=created_at,
            )
            self.orders.setdefault(request.user_id, []).append(order)
            self.keys[(request.user_id, request.idempotency_key)] = order
            self.carts[request.user_id] = CartState()
            return cart_pb2.PlaceOrderResponse(order=order, replayed=False)

    @faulty
    def CancelOrder(self, request, context):
        """Cancel an order and put its lines back; NOT_FOUND for an unknown order."""
        with self._lock:
            order = next((o for o in self.orders.get(request.user_id, []) if o.order_id == request.order_id), None)
            if order is None:
                context.abort(grpc.StatusCode.NOT_FOUND, f"there is no order {request.order_id!r}")
            order.status = cart_pb2.ORDER_STATUS_CANCELLED
            order.cancel_reason = request.reason
            state = self._cart(request.user_id)
            for line in order.lines:
                _name, held, _price = state.lines.get(line.sku, ("", 0, 0))
                state.lines[line.sku] = (line.name, held + line.quantity, line.unit_price.minor_units)
            return cart_pb2.CancelOrderResponse(order=order)

    @faulty
    def ListOrders(self, request, context):
        """The user's orders, newest first."""
        return cart_pb2.ListOrdersResponse(orders=list(reversed(self.orders.get(request.user_id, []))))
