"""The PricingService servicer: gRPC in, catalogue and discount rules, gRPC out.

GetAdjustment evaluates feature flags for the caller's user, whom the gateway sends in the call's
metadata, so a user sees the same variant here as in the gateway.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TypeVar

import grpc
from purchase.pricing.v1 import pricing_pb2, pricing_pb2_grpc

from purchase_lab.flags import LOYALTY_DISCOUNT, FeatureFlags, InvalidUser, UserContext
from purchase_lab.money import money
from services.pricing.adjustments import Adjustment, find_promotion, loyalty_adjustment
from services.pricing.catalogue import (
    PRODUCTS,
    CatalogueProduct,
    PricedLine,
    find_product,
    price_lines,
    subtotal_cents,
)
from services.pricing.errors import (
    InvalidCaller,
    InvalidLineItem,
    MissingPromoCode,
    PricingError,
    UnknownProduct,
    UnknownPromotion,
)
from services.pricing.releases import PricingRelease, load_release

SERVICE_NAME = pricing_pb2.DESCRIPTOR.services_by_name["PricingService"].full_name

# The one place where domain errors become gRPC status codes.
_STATUS_BY_ERROR: dict[type[PricingError], grpc.StatusCode] = {
    UnknownProduct: grpc.StatusCode.NOT_FOUND,
    UnknownPromotion: grpc.StatusCode.NOT_FOUND,
    InvalidLineItem: grpc.StatusCode.INVALID_ARGUMENT,
    InvalidCaller: grpc.StatusCode.INVALID_ARGUMENT,
    MissingPromoCode: grpc.StatusCode.INVALID_ARGUMENT,
}

Method = TypeVar("Method", bound=Callable[..., object])


def _abort_on_domain_error(method: Method) -> Method:
    """Turn a PricingError raised by the method into an aborted call with the error's message."""

    @functools.wraps(method)
    def handler(self: PricingServicer, request: object, context: grpc.ServicerContext) -> object:
        try:
            return method(self, request, context)
        except PricingError as error:
            context.abort(_STATUS_BY_ERROR[type(error)], str(error))

    return handler  # type: ignore[return-value]


def _product_message(product: CatalogueProduct) -> pricing_pb2.Product:
    return pricing_pb2.Product(
        sku=product.sku,
        name=product.name,
        description=product.description,
        category=product.category,
        price=money(product.price_cents),
    )


def _priced(items: Iterable[pricing_pb2.LineItem]) -> list[PricedLine]:
    return price_lines((item.sku, item.quantity) for item in items)


def caller(context: grpc.ServicerContext) -> UserContext | None:
    """The user the call is made for, from its metadata; None when it names none."""
    try:
        return UserContext.from_grpc_metadata(context.invocation_metadata())
    except InvalidUser as error:
        raise InvalidCaller(str(error)) from None


class PricingServicer(pricing_pb2_grpc.PricingServiceServicer):
    """Answers catalogue, price and discount questions; holds no state between calls but the live flags."""

    def __init__(self, flags: FeatureFlags, release: PricingRelease | None = None) -> None:
        self._flags = flags
        # The release's code decides the discount; it is chosen once, when the process starts.
        self._release = release or load_release()

    @_abort_on_domain_error
    def ListProducts(self, request: pricing_pb2.ListProductsRequest, context: grpc.ServicerContext):
        """Return the whole catalogue."""
        return pricing_pb2.ListProductsResponse(products=[_product_message(product) for product in PRODUCTS])

    @_abort_on_domain_error
    def GetProduct(self, request: pricing_pb2.GetProductRequest, context: grpc.ServicerContext):
        """Return one product by SKU."""
        return pricing_pb2.GetProductResponse(product=_product_message(find_product(request.sku)))

    @_abort_on_domain_error
    def PriceCart(self, request: pricing_pb2.PriceCartRequest, context: grpc.ServicerContext):
        """Price every line at today's prices, plus the subtotal."""
        lines = _priced(request.items)
        return pricing_pb2.PriceCartResponse(
            lines=[
                pricing_pb2.PricedLine(
                    sku=line.sku,
                    quantity=line.quantity,
                    unit_price=money(line.unit_price_cents),
                    line_total=money(line.line_total_cents),
                )
                for line in lines
            ],
            subtotal=money(subtotal_cents(lines)),
        )

    @_abort_on_domain_error
    def GetAdjustment(self, request: pricing_pb2.GetAdjustmentRequest, context: grpc.ServicerContext):
        """Return the largest discount the user gets on these items (zero when none)."""
        lines = _priced(request.items)
        offers = self._loyalty_offers(request, lines, context)
        adjustment = self._release.adjustment(subtotal_cents(lines), request.first_order, request.promo_code, offers)
        return pricing_pb2.GetAdjustmentResponse(amount=money(adjustment.amount_cents), reason=adjustment.reason)

    def _loyalty_offers(
        self, request: pricing_pb2.GetAdjustmentRequest, lines: list[PricedLine], context: grpc.ServicerContext
    ) -> list[Adjustment]:
        """The loyalty discount, for a returning customer with the pricing.loyalty_discount flag on."""
        if request.previous_orders < 1 or not self._flags.is_enabled(LOYALTY_DISCOUNT, caller(context)):
            return []
        return [loyalty_adjustment(lines)]

    @_abort_on_domain_error
    def GetPromotion(self, request: pricing_pb2.GetPromotionRequest, context: grpc.ServicerContext):
        """Describe a promo code."""
        promotion = find_promotion(request.code)
        return pricing_pb2.GetPromotionResponse(
            promotion=pricing_pb2.Promotion(code=promotion.code, description=promotion.description)
        )


def register(server: grpc.Server, flags: FeatureFlags, release: PricingRelease | None = None) -> None:
    """Add the pricing servicer, evaluating the given live flags, to a gRPC server; it runs `release`'s code."""
    pricing_pb2_grpc.add_PricingServiceServicer_to_server(PricingServicer(flags, release), server)
