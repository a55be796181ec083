"""The cart service's gRPC API: each RPC becomes one CartStore call, and the result a message."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import grpc
import redis
from google.protobuf.message import Message
from purchase.cart.v1 import cart_pb2, cart_pb2_grpc

from services.cart.errors import (
    CartEmpty,
    CartError,
    IdempotencyKeyReused,
    InvalidInput,
    ItemNotInCart,
    OrderNotFound,
)
from services.cart.messages import cart_message, order_message
from services.cart.store import CartStore

log = logging.getLogger(__name__)

SERVICE_NAME = cart_pb2.DESCRIPTOR.services_by_name["CartService"].full_name

STORAGE_UNAVAILABLE = "cart storage is unavailable; retry shortly"

# The status a caller sees for each domain error; a subclass maps like its nearest listed ancestor.
ERROR_STATUS = {
    CartError: grpc.StatusCode.FAILED_PRECONDITION,
    InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
    ItemNotInCart: grpc.StatusCode.NOT_FOUND,
    OrderNotFound: grpc.StatusCode.NOT_FOUND,
    CartEmpty: grpc.StatusCode.FAILED_PRECONDITION,
    IdempotencyKeyReused: grpc.StatusCode.ALREADY_EXISTS,
}

RpcMethod = Callable[..., Message]


def status_for(error: CartError) -> grpc.StatusCode:
    """The gRPC status code for a domain error."""
    return next(ERROR_STATUS[kind] for kind in type(error).__mro__ if kind in ERROR_STATUS)


def maps_errors(method: RpcMethod) -> RpcMethod:
    """Let an RPC method raise domain and Redis errors; the caller gets a status and a clear message."""

    @functools.wraps(method)
    def handle(servicer: CartServicer, request: Message, context: grpc.ServicerContext) -> Message:
        try:
            return method(servicer, request, context)
        except CartError as error:
            context.abort(status_for(error), str(error))
        except (redis.ConnectionError, redis.TimeoutError) as error:
            log.warning("%s failed, Redis is unreachable: %s", method.__name__, error)
            context.abort(grpc.StatusCode.UNAVAILABLE, STORAGE_UNAVAILABLE)

    return handle


class CartServicer(cart_pb2_grpc.CartServiceServicer):
    """CartService backed by a CartStore."""

    def __init__(self, store: CartStore) -> None:
        self._store = store

    @maps_errors
    def GetCart(self, request: cart_pb2.GetCartRequest, context: grpc.ServicerContext) -> cart_pb2.GetCartResponse:
        """The user's cart and discount eligibility."""
        return cart_pb2.GetCartResponse(cart=cart_message(self._store.get_cart(request.user_id)))

    @maps_errors
    def AddItem(self, request: cart_pb2.AddItemRequest, context: grpc.ServicerContext) -> cart_pb2.AddItemResponse:
        """Add a quantity of a product at the given name and price."""
        view = self._store.add_item(
            request.user_id,
            request.sku,
            request.name,
            request.quantity,
            request.unit_price.minor_units,
            request.unit_price.currency,
        )
        return cart_pb2.AddItemResponse(cart=cart_message(view))

    @maps_errors
    def RemoveItem(
        self, request: cart_pb2.RemoveItemRequest, context: grpc.ServicerContext
    ) -> cart_pb2.RemoveItemResponse:
        """Remove a product's line."""
        return cart_pb2.RemoveItemResponse(cart=cart_message(self._store.remove_item(request.user_id, request.sku)))

    @maps_errors
    def EmptyCart(
        self, request: cart_pb2.EmptyCartRequest, context: grpc.ServicerContext
    ) -> cart_pb2.EmptyCartResponse:
        """Remove every line, the promo code and the adjustment."""
        return cart_pb2.EmptyCartResponse(cart=cart_message(self._store.empty_cart(request.user_id)))

    @maps_errors
    def SetPromoCode(
        self, request: cart_pb2.SetPromoCodeRequest, context: grpc.ServicerContext
    ) -> cart_pb2.SetPromoCodeResponse:
        """Record or remove the promo code."""
        view = self._store.set_promo_code(request.user_id, request.code)
        return cart_pb2.SetPromoCodeResponse(cart=cart_message(view))

    @maps_errors
    def UpdateCart(
        self, request: cart_pb2.UpdateCartRequest, context: grpc.ServicerContext
    ) -> cart_pb2.UpdateCartResponse:
        """Apply a price adjustment."""
        adjustment = request.adjustment
        view = self._store.update_cart(request.user_id, adjustment.minor_units, adjustment.currency, request.reason)
        return cart_pb2.UpdateCartResponse(cart=cart_message(view))

    @maps_errors
    def PlaceOrder(
        self, request: cart_pb2.PlaceOrderRequest, context: grpc.ServicerContext
    ) -> cart_pb2.PlaceOrderResponse:
        """Turn the cart into an order, once per idempotency key."""
        placed = self._store.place_order(request.user_id, request.idempotency_key)
        return cart_pb2.PlaceOrderResponse(order=order_message(placed.order), replayed=placed.replayed)

    @maps_errors
    def CancelOrder(
        self, request: cart_pb2.CancelOrderRequest, context: grpc.ServicerContext
    ) -> cart_pb2.CancelOrderResponse:
        """Cancel an order and put its lines back in the cart."""
        order = self._store.cancel_order(request.user_id, request.order_id, request.reason)
        return cart_pb2.CancelOrderResponse(order=order_message(order))

    @maps_errors
    def ListOrders(
        self, request: cart_pb2.ListOrdersRequest, context: grpc.ServicerContext
    ) -> cart_pb2.ListOrdersResponse:
        """The user's orders, newest first."""
        orders = self._store.list_orders(request.user_id)
        return cart_pb2.ListOrdersResponse(orders=[order_message(order) for order in orders])


def register(server: grpc.Server, store: CartStore) -> None:
    """Add the cart service, backed by store, to a gRPC server."""
    cart_pb2_grpc.add_CartServiceServicer_to_server(CartServicer(store), server)
