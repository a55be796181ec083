"""The pricing service as a real process, driven over gRPC: every RPC, every error, health."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from purchase.pricing.v1 import pricing_pb2, pricing_pb2_grpc

from tests.conftest import Lab

pytestmark = pytest.mark.integration

TIMEOUT = 5.0


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[grpc.Channel]:
    """A channel to a pricing process started for this module."""
    lab = Lab(tmp_path_factory.mktemp("pricing")).start("pricing")
    try:
        with grpc.insecure_channel(lab.target("pricing")) as opened:
            yield opened
    finally:
        lab.stop()


@pytest.fixture(scope="module")
def pricing(channel: grpc.Channel) -> pricing_pb2_grpc.PricingServiceStub:
    """A stub for PricingService."""
    return pricing_pb2_grpc.PricingServiceStub(channel)


def items(*pairs: tuple[str, int]) -> list[pricing_pb2.LineItem]:
    """Line items from (sku, quantity) pairs."""
    return [pricing_pb2.LineItem(sku=sku, quantity=quantity) for sku, quantity in pairs]


def rpc_error(call, request) -> grpc.RpcError:
    """Make a call that must fail and return its error."""
    with pytest.raises(grpc.RpcError) as failure:
        call(request, timeout=TIMEOUT)
    return failure.value


@pytest.mark.parametrize("service", ["", "purchase.pricing.v1.PricingService"])
def test_health_is_serving(channel: grpc.Channel, service: str) -> None:
    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_list_products_returns_the_catalogue_in_dollars(pricing) -> None:
    products = pricing.ListProducts(pricing_pb2.ListProductsRequest(), timeout=TIMEOUT).products
    assert len(products) == 15
    assert {product.price.currency for product in products} == {"USD"}
    assert products[0].sku == "COF-ETH-250"
    assert products[0].price.minor_units == 1650


def test_get_product_returns_one_product(pricing) -> None:
    product = pricing.GetProduct(pricing_pb2.GetProductRequest(sku="BRW-KTL-GNK"), timeout=TIMEOUT).product
    assert (product.name, product.category, product.price.minor_units) == ("Gooseneck Kettle, 0.9 L", "Brewing", 5900)
    assert product.description


def test_get_product_for_an_unknown_sku_is_not_found(pricing) -> None:
    error = rpc_error(pricing.GetProduct, pricing_pb2.GetProductRequest(sku="XXX-000"))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == "no product has SKU 'XXX-000'; list the catalogue with ListProducts for valid SKUs"


def test_get_product_without_a_sku_is_invalid(pricing) -> None:
    error = rpc_error(pricing.GetProduct, pricing_pb2.GetProductRequest(sku=""))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "the SKU is empty; send a SKU from the catalogue, such as 'COF-ETH-250'"


def test_price_cart_prices_every_line_and_the_subtotal(pricing) -> None:
    reply = pricing.PriceCart(
        pricing_pb2.PriceCartRequest(items=items(("COF-ETH-250", 2), ("BRW-FLT-100", 3))), timeout=TIMEOUT
    )
    assert [
        (line.sku, line.quantity, line.unit_price.minor_units, line.line_total.minor_units) for line in reply.lines
    ] == [
        ("COF-ETH-250", 2, 1650, 3300),
        ("BRW-FLT-100", 3, 650, 1950),
    ]
    assert (reply.subtotal.currency, reply.subtotal.minor_units) == ("USD", 5250)


def test_price_cart_of_nothing_is_zero(pricing) -> None:
    reply = pricing.PriceCart(pricing_pb2.PriceCartRequest(), timeout=TIMEOUT)
    assert (list(reply.lines), reply.subtotal.minor_units) == ([], 0)


def test_price_cart_with_an_unknown_sku_is_not_found(pricing) -> None:
    error = rpc_error(pricing.PriceCart, pricing_pb2.PriceCartRequest(items=items(("COF-ETH-250", 1), ("GONE-1", 1))))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "'GONE-1'" in error.details()


@pytest.mark.parametrize("quantity", [0, -3, 100])
def test_price_cart_with_a_bad_quantity_is_invalid(pricing, quantity: int) -> None:
    error = rpc_error(pricing.PriceCart, pricing_pb2.PriceCartRequest(items=items(("HOM-MUG-350", quantity))))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == f"quantity {quantity} of HOM-MUG-350 is not allowed; order from 1 to 99 of one product"


@pytest.mark.parametrize(
    ("first_order", "code", "amount", "reason"),
    [
        (True, "", 610, "10% off your first order"),
        (False, "SPRING15", 915, "15% off with code SPRING15"),
        (True, "SPRING15", 915, "15% off with code SPRING15"),
        (False, "take5", 500, "$5.00 off with code TAKE5"),
        (True, "TAKE5", 610, "10% off your first order"),
        (False, "", 0, ""),
        (False, "NOT-A-CODE", 0, ""),
    ],
)
def test_get_adjustment_gives_the_largest_discount(
    pricing, first_order: bool, code: str, amount: int, reason: str
) -> None:
    request = pricing_pb2.GetAdjustmentRequest(
        user_id="u-1", items=items(("HOM-MUG-350", 2), ("BRW-V60-02", 1)), promo_code=code, first_order=first_order
    )
    reply = pricing.GetAdjustment(request, timeout=TIMEOUT)
    assert (reply.amount.currency, reply.amount.minor_units, reply.reason) == ("USD", amount, reason)


def test_get_adjustment_with_an_unknown_sku_is_not_found(pricing) -> None:
    request = pricing_pb2.GetAdjustmentRequest(user_id="u-1", items=items(("GONE-1", 1)), first_order=True)
    error = rpc_error(pricing.GetAdjustment, request)
    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_get_adjustment_with_a_bad_quantity_is_invalid(pricing) -> None:
    request = pricing_pb2.GetAdjustmentRequest(user_id="u-1", items=items(("HOM-MUG-350", 0)), first_order=True)
    error = rpc_error(pricing.GetAdjustment, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "quantity 0 of HOM-MUG-350 is not allowed" in error.details()


def test_get_promotion_describes_a_code(pricing) -> None:
    promotion = pricing.GetPromotion(pricing_pb2.GetPromotionRequest(code=" spring15"), timeout=TIMEOUT).promotion
    assert (promotion.code, promotion.description) == ("SPRING15", "15% off your whole order this spring")


def test_get_promotion_for_an_unknown_code_is_not_found(pricing) -> None:
    error = rpc_error(pricing.GetPromotion, pricing_pb2.GetPromotionRequest(code="FREESTUFF"))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == "promo code 'FREESTUFF' does not exist; check the spelling or remove it"


def test_get_promotion_without_a_code_is_invalid(pricing) -> None:
    error = rpc_error(pricing.GetPromotion, pricing_pb2.GetPromotionRequest(code=""))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "the promo code is empty; send the code to look up, such as 'SPRING15'"
