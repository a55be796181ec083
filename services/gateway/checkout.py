"""The checkout: turn a user's cart into an order, step by step, deciding what each failure means.

Each step says what kind of dependency it calls, exactly as the table in ARCHITECTURE.md:

| step | call                   | fallbacks ON (resilient)                         | fallbacks OFF (the original app) |
|------|------------------------|--------------------------------------------------|----------------------------------|
| 1    | cart.GetCart           | HARD                                             | HARD                             |
| 2    | pricing.GetAdjustment  | SOFT: $0 if not eligible, else 503 "try again"   | HARD                             |
| 3    | cart.UpdateCart        | HARD (only when the discount changes the cart)   | HARD                             |
| 4    | cart.PlaceOrder        | HARD (idempotent on the key)                     | HARD                             |
| 5    | email.Send...          | SOFT, ignored: queued for later                  | HARD: the order is cancelled     |

All the calls of one checkout share a time budget: each waits at most min(its deadline, what is
left). The soft calls pass their dependency's circuit breaker; an open breaker is a failure known
at once, and it means what the table says a failure means, in both columns. The breaker changes how
long a failure takes, never what it does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import grpc
from purchase.cart.v1 import cart_pb2
from purchase.pricing.v1 import pricing_pb2

from purchase_lab.money import CURRENCY, money
from purchase_lab.telemetry import PurchaseMetrics, spans
from purchase_lab.telemetry.metrics import DependencyCall
from services.gateway.downstreams import NO_METRICS, Budget, BudgetSpent, Downstreams, ShortCircuited, failure_reason
from services.gateway.email_queue import EmailQueue, EmailQueueError, OutgoingEmail, order_emails
from services.gateway.errors import CONTRACT_ERRORS, Conflict, DependencyError, InvalidValue, Unavailable
from services.gateway.inputs import User

log = logging.getLogger(__name__)

# The step of the table each call is, for the messages that name where a checkout stopped.
STEPS = {
    "GetCart": 1,
    "GetAdjustment": 2,
    "UpdateCart": 3,
    "PlaceOrder": 4,
    "SendOrderConfirmation": 5,
    "SendDiscountEmail": 5,
}


@dataclass(frozen=True)
class Degradation:
    """A dependency that failed during a checkout, the fallback that ran instead, and why it failed.

    error is the gRPC status, or BREAKER_OPEN (the call was not made) or BUDGET_EXHAUSTED.
    """

    dependency: str
    fallback: str
    error: str


@dataclass
class CheckoutResult:
    """The order a checkout placed (or replayed) and how it got there."""

    order: cart_pb2.Order
    replayed: bool
    email: str = "sent"
    degraded: list[Degradation] = field(default_factory=list)


class CartChanged(Exception):
    """The cart changed between reading it and applying its discount (another checkout placed it)."""


class Checkout:
    """One checkout of one user's cart under one Idempotency-Key, within one time budget."""

    def __init__(
        self,
        downstreams: Downstreams,
        email_queue: EmailQueue,
        user: User,
        idempotency_key: str,
        *,
        fallbacks: bool,
        budget: Budget,
        metrics: PurchaseMetrics = NO_METRICS,
    ) -> None:
        self.services = downstreams
        self.email_queue = email_queue
        self.user = user
        self.idempotency_key = idempotency_key
        self.fallbacks = fallbacks
        self.budget = budget
        self.metrics = metrics
        self.degraded: list[Degradation] = []
        # What the loyalty discount's funnel needs: a returning customer's cart, and pricing answering for it.
        self.returning_customer = False
        self.priced = False

    def run(self) -> CheckoutResult:
        """Place the order (or replay the one this key placed) and send its emails."""
        try:
            return self.place()
        except BudgetSpent as spent:
            raise Unavailable(
                spent.dependency,
                f"the checkout ran out of its {spent.budget_ms} ms time budget at step {STEPS[spent.method]} "
                f"({spent.dependency}.{spent.method}); please try again with the same Idempotency-Key, "
                "which never places a second order",
                code="checkout_timeout",
            ) from spent
        except ShortCircuited as refused:
            # Only a hard call gets here: pricing with the fallbacks off.
            raise Unavailable(
                refused.dependency,
                f"{refused.dependency} has been failing, so its circuit breaker is open: the checkout did not "
                f"call it and nothing was ordered; please try again in {max(1, round(refused.retry_in))} s",
            ) from refused

    def place(self) -> CheckoutResult:
        """Steps 1 to 5, started again once if another checkout changes the cart meanwhile."""
        # A concurrent checkout may empty the cart under us; starting again then finds the cart
        # empty and replays the order, when that checkout used the same key.
        for _attempt in range(2):
            self.degraded = []
            cart = self.get_cart()
            self.returning_customer = bool(cart.lines) and cart.previous_orders > 0
            try:
                if cart.lines:
                    self.apply_adjustment(cart, self.get_adjustment(cart))
                placed = self.place_order(cart)
            except CartChanged:
                continue
            if placed.order.status == cart_pb2.ORDER_STATUS_CANCELLED:
                raise Conflict(
                    f"order {placed.order.order_id} placed with this Idempotency-Key was cancelled "
                    f"({placed.order.cancel_reason}); check out again with a new Idempotency-Key",
                    code="order_cancelled",
                    order_id=placed.order.order_id,
                    order_status="cancelled",
                )
            email = self.send_emails(placed.order)
            return CheckoutResult(placed.order, placed.replayed, email, self.degraded)
        raise Conflict("your cart changed during checkout; please check out again", code="cart_changed")

    def get_cart(self) -> cart_pb2.Cart:
        """Step 1, HARD: without the cart there is nothing to order."""
        request = cart_pb2.GetCartRequest(user_id=self.user.user_id)
        return self.services.cart.call("GetCart", request, budget=self.budget).cart

    def get_adjustment(self, cart: cart_pb2.Cart) -> pricing_pb2.GetAdjustmentResponse:
        """Step 2: the discount. HARD with fallbacks off; SOFT with a fallback when they are on."""
        request = pricing_pb2.GetAdjustmentRequest(
            user_id=self.user.user_id,
            items=[pricing_pb2.LineItem(sku=line.sku, quantity=line.quantity) for line in cart.lines],
            promo_code=cart.promo_code,
            first_order=cart.first_order,
            previous_orders=cart.previous_orders,
        )
        if not self.fallbacks:
            # HARD: any failure fails the checkout, and no order is placed.
            adjustment = self.services.pricing.call("GetAdjustment", request, budget=self.budget)
            self.priced = True
            return adjustment
        with self.metrics.dependency_call("pricing", "GetAdjustment") as recorded:
            try:
                adjustment = self.services.pricing.call("GetAdjustment", request, budget=self.budget)
            except DependencyError as error:
                if cart.discount_eligible:
                    # Charging full price to someone owed a discount is worse than asking them to retry.
                    raise Unavailable(
                        "pricing", "pricing is unavailable and you are eligible for a discount; please try again"
                    ) from error
                # SOFT with a fallback: someone owed no discount would have got $0 anyway.
                log.warning("checkout for %s continues without a discount: %s", self.user.user_id, error)
                self.degrade("pricing", "no_adjustment", error, recorded)
                return pricing_pb2.GetAdjustmentResponse(amount=money(0, cart.subtotal.currency or CURRENCY))
        self.priced = True
        return adjustment

    def apply_adjustment(self, cart: cart_pb2.Cart, adjustment: pricing_pb2.GetAdjustmentResponse) -> None:
        """Step 3, HARD: record the discount on the cart.

        Called when the discount differs from the one the cart carries: any discount on a fresh
        cart, and also a reset to zero of a discount left by an earlier, interrupted checkout.
        """
        if (cart.adjustment.minor_units, cart.adjustment_reason) == (adjustment.amount.minor_units, adjustment.reason):
            return
        request = cart_pb2.UpdateCartRequest(
            user_id=self.user.user_id, adjustment=adjustment.amount, reason=adjustment.reason
        )
        cart_changed = CartChanged()
        self.services.cart.call(
            "UpdateCart",
            request,
            budget=self.budget,
            contract_errors={
                grpc.StatusCode.INVALID_ARGUMENT: cart_changed,
                grpc.StatusCode.FAILED_PRECONDITION: cart_changed,
            },
        )

    def place_order(self, cart: cart_pb2.Cart) -> cart_pb2.PlaceOrderResponse:
        """Step 4, HARD: the order, placed atomically; a key used before returns its order again."""
        request = cart_pb2.PlaceOrderRequest(user_id=self.user.user_id, idempotency_key=self.idempotency_key)
        # An empty cart when ours had lines means another checkout placed it meanwhile: start again.
        cart_empty = (
            CartChanged()
            if cart.lines
            else Conflict(
                "your cart is empty; add items with POST /api/v1/cart/items, then check out", code="cart_empty"
            )
        )
        return self.services.cart.call(
            "PlaceOrder",
            request,
            budget=self.budget,
            contract_errors={
                grpc.StatusCode.FAILED_PRECONDITION: cart_empty,
                grpc.StatusCode.ALREADY_EXISTS: InvalidValue(
                    "this Idempotency-Key already placed an order for other items; send a new key for a new order, "
                    "or repeat the key only to retry the same checkout",
                    code="idempotency_key_reused",
                ),
            },
        )

    def send_emails(self, order: cart_pb2.Order) -> str:
        """Step 5: the confirmation (and discount) emails; return "sent", "queued" or "not_sent"."""
        emails = order_emails(order, self.user.email)
        if not self.fallbacks:
            return self.send_or_cancel(order, emails)
        for index, email in enumerate(emails):
            with self.metrics.dependency_call("email", email.method) as recorded:
                try:
                    email.send(self.services.email, self.budget)
                except DependencyError as error:
                    # SOFT, ignored: the order stands; what the email service did not take is queued.
                    log.warning("order %s: email failed: %s", order.order_id, error)
                    return self.queue(emails[index:], error, recorded)
        return "sent"

    def queue(self, emails: list[OutgoingEmail], error: DependencyError, recorded: DependencyCall) -> str:
        """Queue emails for the relay; the order stands unsent when email refused them or Redis is down."""
        if error.status in CONTRACT_ERRORS:
            # The email service refused the email itself; sending it again later would not help.
            self.degrade("email", "none", error)
            return "not_sent"
        try:
            for email in emails:
                self.email_queue.put(email)
        except EmailQueueError as queue_error:
            log.error("emails of this checkout were neither sent nor queued: %s", queue_error)
            self.degrade("email", "none", error)
            return "not_sent"
        self.degrade("email", "queued", error, recorded)
        return "queued"

    def send_or_cancel(self, order: cart_pb2.Order, emails: list[OutgoingEmail]) -> str:
        """Step 5 with fallbacks off, HARD: the original app cancels the order when email fails."""
        try:
            for email in emails:
                email.send(self.services.email, self.budget)
        except DependencyError as error:
            reason = f"the confirmation email could not be sent (email: {failure_reason(error)})"
            raise self.cancel(order, reason) from error
        return "sent"

    def cancel(self, order: cart_pb2.Order, reason: str) -> Unavailable:
        """Cancel the order after its email failed; return the error to answer, saying whether it worked.

        The cancellation is not bounded by the budget: an order the user is told failed must not stand.
        """
        request = cart_pb2.CancelOrderRequest(user_id=self.user.user_id, order_id=order.order_id, reason=reason)
        try:
            self.services.cart.call("CancelOrder", request)
        except DependencyError as error:
            log.error("order %s stands: cancelling it failed: %s", order.order_id, error)
            return Unavailable(
                "email",
                f"{reason}, and cancelling order {order.order_id} failed too (cart: {failure_reason(error)}), "
                "so the order stands without its email; please try again with the same Idempotency-Key",
                order_id=order.order_id,
                order_status="placed",
            )
        return Unavailable(
            "email",
            f"{reason}, so order {order.order_id} was cancelled and its items are back in your cart; "
            "please check out again with a new Idempotency-Key",
            code="order_cancelled",
            order_id=order.order_id,
            order_status="cancelled",
        )

    def degrade(
        self, dependency: str, fallback: str, error: DependencyError, recorded: DependencyCall | None = None
    ) -> None:
        """Note that the checkout goes on without a dependency: in the response, on the span, in the metrics.

        recorded, the call being measured, also counts a fallback: whether the call failed or its breaker refused it.
        """
        degradation = Degradation(dependency, fallback, failure_reason(error))
        self.degraded.append(degradation)
        spans.record_degradation(dependency, fallback, degradation.error)
        if recorded is not None:
            recorded.fallback()
