"""The checkout table of ARCHITECTURE.md as data, written apart from services/gateway/checkout.py.

oracle.py walks these steps for one case; nothing here is read from the gateway's code, so a gateway
that drifts from the table is caught rather than copied. Each step names its call, when the checkout
makes it, and what its failure means in each column of the table:

- `stop`: the checkout ends there with this answer and this state;
- `fallback`: the checkout goes on (`degraded` is the entry the response must name);
- `cancel`: with fallbacks off, an email failure cancels the order (CANCEL says how that ends).

States: `order` is the order this checkout left (none, placed or cancelled); `cart` is whether the
cart's items are still there (unchanged) or were ordered (emptied).
"""

from __future__ import annotations

from typing import Any

NOT_PLACED = {"order": "none", "cart": "unchanged"}


def unavailable(dependency: str) -> dict[str, Any]:
    """The answer of a hard dependency's failure: 503, retryable, nothing ordered."""
    return {"status": 503, "code": "dependency_unavailable", "dependency": dependency, **NOT_PLACED}


# When a step is made: always, or only when the checkout's discount is above $0.
ALWAYS = "always"
DISCOUNT = "discount"

STEPS: tuple[dict[str, Any], ...] = (
    {
        "call": "cart.GetCart",
        "when": ALWAYS,
        "fallbacks_on": {"stop": unavailable("cart")},
        "fallbacks_off": {"stop": unavailable("cart")},
    },
    {
        "call": "pricing.GetAdjustment",
        "when": ALWAYS,
        "fallbacks_on_eligible": {"stop": unavailable("pricing")},
        "fallbacks_on_not_eligible": {"fallback": {"dependency": "pricing", "fallback": "no_adjustment"}},
        "fallbacks_off": {"stop": unavailable("pricing")},
    },
    {
        "call": "cart.UpdateCart",
        "when": DISCOUNT,
        "fallbacks_on": {"stop": unavailable("cart")},
        "fallbacks_off": {"stop": unavailable("cart")},
    },
    {
        "call": "cart.PlaceOrder",
        "when": ALWAYS,
        "fallbacks_on": {"stop": unavailable("cart")},
        "fallbacks_off": {"stop": unavailable("cart")},
    },
    {
        "call": "email.SendOrderConfirmation",
        "email": "order_confirmation",
        "when": ALWAYS,
        "fallbacks_on": {"fallback": {"dependency": "email", "fallback": "queued"}, "queue_the_rest": True},
        "fallbacks_off": {"cancel": True},
    },
    {
        "call": "email.SendDiscountEmail",
        "email": "discount",
        "when": DISCOUNT,
        "fallbacks_on": {"fallback": {"dependency": "email", "fallback": "queued"}, "queue_the_rest": True},
        "fallbacks_off": {"cancel": True},
    },
)

# With fallbacks off, after an email failed: the order is cancelled, unless cancelling fails too.
CANCEL: dict[str, Any] = {
    "call": "cart.CancelOrder",
    "succeeded": {
        "status": 503,
        "code": "order_cancelled",
        "dependency": "email",
        "order": "cancelled",
        "cart": "unchanged",
    },
    "failed": {
        "status": 503,
        "code": "dependency_unavailable",
        "dependency": "email",
        "order": "placed",
        "cart": "emptied",
    },
}

# Every step answered (or fell back): the order is placed and the cart is empty.
PLACED: dict[str, Any] = {"status": 201, "code": None, "dependency": None, "order": "placed", "cart": "emptied"}

# The error name a degraded entry gives for each fault: latency past the deadline is a deadline
# exceeded, and a process that is down refuses the connection (UNAVAILABLE).
FAULT_ERRORS = {
    "UNAVAILABLE": "UNAVAILABLE",
    "DEADLINE_EXCEEDED": "DEADLINE_EXCEEDED",
    "INTERNAL": "INTERNAL",
    "LATENCY": "DEADLINE_EXCEEDED",
    "DOWN": "UNAVAILABLE",
}
