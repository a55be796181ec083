"""Contract fakes of cart, pricing and email: the generated servicers, answering as the protos promise.

Each fake keeps its state in memory and has Faults, so a test can make any RPC fail with a gRPC
status or answer slowly, the way a real dependency does when it is down or overloaded.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import Counter
from collections.abc import Callable

import grpc
from purchase.email.v1 import email_pb2, email_pb2_grpc
from purchase.pricing.v1 import pricing_pb2, pricing_pb2_grpc

from purchase_lab.money import money, percent_of


class Faults:
    """Failures and delays per RPC method name ("*" is every method), and a count of calls."""

    def __init__(self) -> None:
        self.failures: dict[str, tuple[grpc.StatusCode, str]] = {}
        self.delays: dict[str, float] = {}
        self.calls: Counter[str] = Counter()

    def fail(self, method: str = "*", code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE) -> None:
        """Make method fail with code until recover()."""
        self.failures[method] = (code, f"{method} failed: injected by the test")

    def slow(self, method: str, seconds: float) -> None:
        """Make method answer after seconds."""
        self.delays[method] = seconds

    def recover(self) -> None:
        """Answer every call normally again."""
        self.failures.clear()
        self.delays.clear()

    def enter(self, method: str, context: grpc.ServicerContext) -> None:
        """Count the call, then delay or fail it as the test asked."""
        self.calls[method] += 1
        delay = self.delays.get(method)
        if delay:
            time.sleep(delay)
        failure = self.failures.get(method) or self.failures.get("*")
        if failure:
            context.abort(*failure)


def faulty(method: Callable) -> Callable:
    """Run the fake's Faults before the RPC method."""

    @functools.wraps(method)
    def rpc(self, request, context):
        self.faults.enter(method.__name__, context)
        return method(self, request, context)

    return rpc


PRODUCTS = (
    pricing_pb2.Product(
        sku="MUG-001", name="Enamel camp mug", description="Holds 350 ml.", category="kitchen", price=money(1250)
    ),
    pricing_pb2.Product(
        sku="TEE-002", name="Organic cotton tee", description="Unisex, navy.", category="clothing", price=money(2400)
    ),
    pricing_pb2.Product(sku="BAG-003", name="Canvas tote", description="", category="bags", price=money(1999)),
)
PROMOTIONS = {"SAVE5": pricing_pb2.Promotion(code="SAVE5", description="$5.00 off your order")}
FIRST_ORDER_REASON = "10% off your first order"


class FakePricing(pricing_pb2_grpc.PricingServiceServicer):
    """A catalogue of three products, 10% off a first order, and the code SAVE5 ($5 off)."""

    def __init__(self) -> None:
        self.faults = Faults()
        self.by_sku = {product.sku: product for product in PRODUCTS}

    def _product(self, sku: str, context: grpc.ServicerContext) -> pricing_pb2.Product:
        if sku not in self.by_sku:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no product has SKU {sku!r}")
        return self.by_sku[sku]

    @faulty
    def ListProducts(self, request, context):
        """The catalogue."""
        return pricing_pb2.ListProductsResponse(products=PRODUCTS)

    @faulty
    def GetProduct(self, request, context):
        """One product; NOT_FOUND for an unknown SKU."""
        return pricing_pb2.GetProductResponse(product=self._product(request.sku, context))

    @faulty
    def PriceCart(self, request, context):
        """Price items at catalogue prices."""
        lines = []
        for item in request.items:
            price = self._product(item.sku, context).price
            lines.append(
                pricing_pb2.PricedLine(
                    sku=item.sku,
                    quantity=item.quantity,
                    unit_price=price,
                    line_total=money(price.minor_units * item.quantity),
                )
            )
        subtotal = sum(line.line_total.minor_units for line in lines)
        return pricing_pb2.PriceCartResponse(lines=lines, subtotal=money(subtotal))

    @faulty
    def GetAdjustment(self, request, context):
        """The larger of 10% off a first order and the promo code's discount."""
        subtotal = sum(self._product(i.sku, context).price.minor_units * i.quantity for i in request.items)
        candidates = [(0, "")]
        if request.first_order:
            candidates.append((percent_of(subtotal, 10), FIRST_ORDER_REASON))
        if request.promo_code in PROMOTIONS:
            candidates.append((min(500, subtotal), f"$5.00 off with code {request.promo_code}"))
        amount, reason = max(candidates)
        return pricing_pb2.GetAdjustmentResponse(amount=money(amount), reason=reason)

    @faulty
    def GetPromotion(self, request, context):
        """A promo code, ignoring case; INVALID_ARGUMENT when empty, NOT_FOUND when unknown."""
        code = request.code.strip().upper()
        if not code:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the promo code is empty")
        if code not in PROMOTIONS:
            context.abort(grpc.StatusCode.NOT_FOUND, f"there is no promo code {request.code!r}")
        return pricing_pb2.GetPromotionResponse(promotion=PROMOTIONS[code])


class FakeEmail(email_pb2_grpc.EmailServiceServicer):
    """An outbox in memory that records each (kind, order) once, as the email service does."""

    def __init__(self) -> None:
        self.faults = Faults()
        self.outbox: list[email_pb2.EmailMessage] = []
        self.requests: dict[tuple[int, str], object] = {}
        self._lock = threading.Lock()

    def _record(self, kind: int, request, subject: str) -> tuple[email_pb2.EmailMessage, bool]:
        with self._lock:
            for message in self.outbox:
                if (message.kind, message.order_id) == (kind, request.order_id):
                    return message, True
            message = email_pb2.EmailMessage(
                message_id=f"{len(self.outbox) + 1}-0",
                kind=kind,
                to=request.to,
                user_id=request.user_id,
                order_id=request.order_id,
                subject=subject,
            )
            self.outbox.append(message)
            self.requests[(kind, request.order_id)] = request
            return message, False

    @faulty
    def SendOrderConfirmation(self, request, context):
        """Record a confirmation once per order."""
        message, duplicate = self._record(
            email_pb2.EMAIL_KIND_ORDER_CONFIRMATION, request, f"Your order {request.order_id}"
        )
        return email_pb2.SendOrderConfirmationResponse(message=message, duplicate=duplicate)

    @faulty
    def SendDiscountEmail(self, request, context):
        """Record a discount email once per order."""
        message, duplicate = self._record(email_pb2.EMAIL_KIND_DISCOUNT, request, "You saved on your order")
        return email_pb2.SendDiscountEmailResponse(message=message, duplicate=duplicate)

    @faulty
    def ListOutbox(self, request, context):
        """Recorded emails, newest first, optionally one user's."""
        messages = [m for m in reversed(self.outbox) if not request.user_id or m.user_id == request.user_id]
        return email_pb2.ListOutboxResponse(messages=messages[: request.limit or 100])

    def sent(self, kind: int, order_id: str):
        """The request that recorded this email, or None when it was never recorded."""
        return self.requests.get((kind, order_id))
