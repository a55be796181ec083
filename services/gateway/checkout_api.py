"""POST /api/v1/checkout: run the checkout for the user and answer with the order and its degradations.

Each checkout is also counted here: `purchase.checkouts` by result and fallbacks variant, and, for a
returning customer, the loyalty discount's funnel (see docs/observability.md).
"""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, Response, current_app, jsonify

from purchase_lab.flags import CHECKOUT_FALLBACKS, LOYALTY_DISCOUNT
from purchase_lab.telemetry.instrument import telemetry_of
from services.gateway import features, inputs
from services.gateway.checkout import Checkout, CheckoutResult
from services.gateway.downstreams import Budget
from services.gateway.errors import DependencyError, ShopError, Unavailable, as_shop_error
from services.gateway.ops_checkouts import records_checkout
from services.gateway.payloads import order_payload
from services.gateway.resources import gateway

bp = Blueprint("checkout", __name__, url_prefix="/api/v1")


def fallbacks_enabled(user: inputs.User) -> bool:
    """Whether this user's checkout uses the fallbacks (the resilient column of the checkout table).

    It is the `checkout.fallbacks` feature flag, evaluated for the user. Its code default, served
    when the flag is killed or cannot be evaluated, is off: the original checkout.
    """
    return features.flags().is_enabled(CHECKOUT_FALLBACKS, user.context)


@bp.post("/checkout")
@records_checkout
def checkout() -> tuple[Response, int]:
    """Place the cart as an order: 201 with the order, or 200 when the Idempotency-Key replays one."""
    user = inputs.current_user()
    key = inputs.idempotency_key()
    resources = gateway()
    run = Checkout(
        resources.downstreams,
        resources.email_queue,
        user,
        key,
        fallbacks=resources.fallbacks(user),
        budget=Budget(resources.settings.checkout.budget_ms),
        metrics=telemetry_of(current_app).metrics,
    )
    try:
        result = run.run()
    except Exception as error:
        record_checkout(run, failure_result(error))
        raise
    record_checkout(run, "replayed" if result.replayed else "degraded" if result.degraded else "placed")
    return jsonify(checkout_payload(result)), 200 if result.replayed else 201


def checkout_payload(result: CheckoutResult) -> dict[str, object]:
    """The order, how its emails went, what was degraded, and whether it is a replay."""
    return {
        **order_payload(result.order),
        "email": result.email,
        "degraded": [asdict(degradation) for degradation in result.degraded],
        "replayed": result.replayed,
    }


def failure_result(error: Exception) -> str:
    """How a checkout that placed no order counts: failed (the shop could not serve it) or rejected (4xx)."""
    if isinstance(error, DependencyError):
        error = as_shop_error(error)
    return "rejected" if isinstance(error, ShopError) and not isinstance(error, Unavailable) else "failed"


def record_checkout(run: Checkout, result: str) -> None:
    """Count the checkout by result and fallbacks variant; a returning customer's in the loyalty funnel too.

    The funnel of `pricing.loyalty_discount`, by the user's variant: eligible (a returning customer
    checked out a cart), exposed (pricing answered, so the variant's discount rules ran for them),
    succeeded (an order was placed) or failed (the shop could not place it).
    """
    run.metrics.record_checkout(result, "on" if run.fallbacks else "off")
    if not run.returning_customer:
        return
    variant = "on" if features.flags().is_enabled(LOYALTY_DISCOUNT, run.user.context) else "off"
    stages = ["eligible", *(["exposed"] if run.priced else [])]
    stages += ["succeeded"] if result in ("placed", "degraded") else ["failed"] if result == "failed" else []
    for stage in stages:
        run.metrics.record_funnel(LOYALTY_DISCOUNT, variant, stage)
