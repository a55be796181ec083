"""POST /api/v1/checkout: run the checkout for the user and answer with the order and its degradations."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, Response, jsonify

from purchase_lab.flags import CHECKOUT_FALLBACKS
from services.gateway import features, inputs
from services.gateway.checkout import Checkout, CheckoutResult
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
    result = Checkout(
        resources.downstreams, resources.email_queue, user, key, fallbacks=resources.fallbacks(user)
    ).run()
    return jsonify(checkout_payload(result)), 200 if result.replayed else 201


def checkout_payload(result: CheckoutResult) -> dict[str, object]:
    """The order, how its emails went, what was degraded, and whether it is a replay."""
    return {
        **order_payload(result.order),
        "email": result.email,
        "degraded": [asdict(degradation) for degradation in result.degraded],
        "replayed": result.replayed,
    }
