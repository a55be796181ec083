"""The cart service as a real process with a real Redis, driven over gRPC."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from purchase.cart.v1 import cart_pb2, cart_pb2_grpc

from purchase_lab.money import money
from tests.conftest import Lab

pytestmark = pytest.mark.integration

TIMEOUT = 5.0
SERVICE = "purchase.cart.v1.CartService"

CartStub = cart_pb2_grpc.CartServiceStub


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Redis and the cart service, started once for this module."""
    system = Lab(tmp_path_factory.mktemp("cart"))
    try:
        yield system.start("redis", "cart")
    finally:
        system.stop()


@pytest.fixture(scope="module")
def channel(lab: Lab) -> Iterator[grpc.Channel]:
    """A channel to the cart service."""
    with grpc.insecure_channel(lab.target("cart")) as opened:
        yield opened


@pytest.fixture(scope="module")
def cart(channel: grpc.Channel) -> CartStub:
    """A stub for CartService."""
    return cart_pb2_grpc.CartServiceStub(channel)


def add_mug(cart: CartStub, user_id: str, quantity: int = 2) -> cart_pb2.AddItemResponse:
    """Add Enamel mugs at $12.50 each."""
    request = cart_pb2.AddItemRequest(
        user_id=user_id, sku="MUG-1", name="Enamel mug", quantity=quantity, unit_price=money(1250)
    )
    return cart.AddItem(request, timeout=TIMEOUT)


def rpc_error(call: Callable[..., object], request: object) -> grpc.RpcError:
    """Make a call that must fail and return its error."""
    with pytest.raises(grpc.RpcError) as failure:
        call(request, timeout=TIMEOUT)
    return failure.value


def test_a_purchase_from_cart_to_order_and_back(cart: CartStub, user_id: str) -> None:
    add_mug(cart, user_id)
    cart.SetPromoCode(cart_pb2.SetPromoCodeRequest(user_id=user_id, code="SPRING15"), timeout=TIMEOUT)
    discounted = cart.UpdateCart(
        cart_pb2.UpdateCartRequest(user_id=user_id, adjustment=money(375), reason="SPRING15: 15% off"), timeout=TIMEOUT
    ).cart
    assert (discounted.subtotal, discounted.adjustment, discounted.total) == (money(2500), money(375), money(2125))
    assert (discounted.first_order, discounted.discount_eligible) == (True, True)

    request = cart_pb2.PlaceOrderRequest(user_id=user_id, idempotency_key=str(uuid.uuid4()))
    placed = cart.PlaceOrder(request, timeout=TIMEOUT)
    replay = cart.PlaceOrder(request, timeout=TIMEOUT)

    assert (placed.replayed, replay.replayed) == (False, True)
    assert replay.order == placed.order
    assert placed.order.status == cart_pb2.ORDER_STATUS_PLACED
    assert (placed.order.total, placed.order.promo_code) == (money(2125), "SPRING15")
    emptied = cart.GetCart(cart_pb2.GetCartRequest(user_id=user_id), timeout=TIMEOUT).cart
    assert (len(emptied.lines), emptied.promo_code, emptied.first_order) == (0, "", False)
    listed = cart.ListOrders(cart_pb2.ListOrdersRequest(user_id=user_id), timeout=TIMEOUT).orders
    assert list(listed) == [placed.order]

    cancel = cart_pb2.CancelOrderRequest(user_id=user_id, order_id=placed.order.order_id, reason="changed my mind")
    cancelled = cart.CancelOrder(cancel, timeout=TIMEOUT).order
    assert (cancelled.status, cancelled.cancel_reason) == (cart_pb2.ORDER_STATUS_CANCELLED, "changed my mind")
    restored = cart.GetCart(cart_pb2.GetCartRequest(user_id=user_id), timeout=TIMEOUT).cart
    assert [(line.sku, line.quantity) for line in restored.lines] == [("MUG-1", 2)]
    assert restored.first_order is True


def test_removing_and_emptying(cart: CartStub, user_id: str) -> None:
    add_mug(cart, user_id)
    cart.SetPromoCode(cart_pb2.SetPromoCodeRequest(user_id=user_id, code="SPRING15"), timeout=TIMEOUT)

    removed = cart.RemoveItem(cart_pb2.RemoveItemRequest(user_id=user_id, sku="MUG-1"), timeout=TIMEOUT).cart
    emptied = cart.EmptyCart(cart_pb2.EmptyCartRequest(user_id=user_id), timeout=TIMEOUT).cart

    assert (len(removed.lines), removed.promo_code) == (0, "SPRING15")
    assert (len(emptied.lines), emptied.promo_code, emptied.total) == (0, "", money(0))


@pytest.mark.parametrize(
    ("method", "request_for", "code", "details"),
    [
        (
            "GetCart",
            lambda user_id: cart_pb2.GetCartRequest(user_id=""),
            grpc.StatusCode.INVALID_ARGUMENT,
            "user_id is empty; send the id of the user whose cart or orders you want",
        ),
        (
            "AddItem",
            lambda user_id: cart_pb2.AddItemRequest(
                user_id=user_id, sku="MUG-1", name="Enamel mug", quantity=0, unit_price=money(1250)
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "quantity must be from 1 to 99; got 0",
        ),
        (
            "RemoveItem",
            lambda user_id: cart_pb2.RemoveItemRequest(user_id=user_id, sku="LAMP-2"),
            grpc.StatusCode.NOT_FOUND,
            "SKU 'LAMP-2' is not in the cart; get the cart to see which SKUs it holds",
        ),
        (
            "UpdateCart",
            lambda user_id: cart_pb2.UpdateCartRequest(user_id=user_id, adjustment=money(5000), reason="too much"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "an adjustment of 5000 minor units is outside 0 to the subtotal (2500); "
            "get the cart again and price its current subtotal",
        ),
        (
            "PlaceOrder",
            lambda user_id: cart_pb2.PlaceOrderRequest(user_id=user_id, idempotency_key=""),
            grpc.StatusCode.INVALID_ARGUMENT,
            "idempotency_key is empty; send a key of your choosing, such as a UUID, with every order",
        ),
        (
            "CancelOrder",
            lambda user_id: cart_pb2.CancelOrderRequest(user_id=user_id, order_id="no-such-order"),
            grpc.StatusCode.NOT_FOUND,
            "there is no order 'no-such-order' for this user; list the user's orders for valid ids",
        ),
    ],
)
def test_each_error_has_its_status_and_advice(
    cart: CartStub, user_id: str, method: str, request_for: Callable[[str], object], code: grpc.StatusCode, details: str
) -> None:
    add_mug(cart, user_id)

    error = rpc_error(getattr(cart, method), request_for(user_id))

    assert (error.code(), error.details()) == (code, details)


def test_an_empty_cart_cannot_be_ordered(cart: CartStub, user_id: str) -> None:
    error = rpc_error(cart.PlaceOrder, cart_pb2.PlaceOrderRequest(user_id=user_id, idempotency_key="key-1"))

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == "the cart is empty; add items before checking out"


def test_health_reports_serving(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)

    for service in ("", SERVICE):
        reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_service(channel: grpc.Channel) -> None:
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    question = reflection_pb2.ServerReflectionRequest(list_services="")

    answers = reflection.ServerReflectionInfo(iter([question]), timeout=TIMEOUT)

    names = {service.name for answer in answers for service in answer.list_services_response.service}
    assert SERVICE in names


def test_without_redis_calls_are_unavailable_until_it_starts(tmp_path_factory: pytest.TempPathFactory) -> None:
    lab = Lab(tmp_path_factory.mktemp("cart-without-redis"))
    try:
        lab.start("cart")
        with grpc.insecure_channel(lab.target("cart")) as channel:
            cart = cart_pb2_grpc.CartServiceStub(channel)
            request = cart_pb2.GetCartRequest(user_id="u-ada")

            error = rpc_error(cart.GetCart, request)
            assert (error.code(), error.details()) == (
                grpc.StatusCode.UNAVAILABLE,
                "cart storage is unavailable; retry shortly",
            )

            lab.start("redis")
            assert cart.GetCart(request, timeout=TIMEOUT).cart.user_id == "u-ada"
    finally:
        lab.stop()
