"""Every downstream call of the checkout, made slow, against its two limits: the budget and its own deadline.

One row per call of the checkout table (ARCHITECTURE.md), two columns:

- budget shorter than the deadline: the call is cut when the checkout's budget runs out (BUDGET_EXHAUSTED,
  or checkout_timeout naming the step), not when its own, longer deadline passes;
- deadline shorter than the budget: the call is cut at its deadline (DEADLINE_EXCEEDED), and the rest of
  the budget is not waited for.

Either way the checkout answers long before the slow dependency would have: a step that ignored the
budget (or its deadline) would keep the user waiting the whole SLOW_S.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.gateway.conftest import Fakes, checkout, fill_cart, place_earlier_order, resources

pytestmark = pytest.mark.functional

# How long the slow call would take, and the limit that must cut it; far apart, so a busy machine cannot blur them.
SLOW_S = 3.0
CUT_MS = 400
LONG_MS = 8000
# A checkout cut at CUT_MS answers well before this; one that waited for the slow call cannot.
ANSWERED_BEFORE_S = 2.0


@dataclass(frozen=True)
class Step:
    """One downstream call of the checkout: its service, method, and the user whose checkout makes it."""

    number: str
    service: str
    method: str
    returning: bool  # a returning customer is owed no discount, so UpdateCart and the discount email are skipped
    fallbacks: bool = True


STEPS = [
    Step("1", "cart", "GetCart", returning=False),
    Step("2", "pricing", "GetAdjustment", returning=True),
    Step("2 (fallbacks off)", "pricing", "GetAdjustment", returning=True, fallbacks=False),
    Step("3", "cart", "UpdateCart", returning=False),
    Step("4", "cart", "PlaceOrder", returning=False),
    Step("5", "email", "SendOrderConfirmation", returning=False),
    Step("5 (discount)", "email", "SendDiscountEmail", returning=False),
]
BUDGET_SHORTER, DEADLINE_SHORTER = "budget shorter than deadline", "deadline shorter than budget"

# What the user is answered, per step and column: (HTTP status, error code or email outcome, why the call ended).
EXPECTED = {
    ("1", BUDGET_SHORTER): (503, "checkout_timeout", "at step 1 (cart.GetCart)"),
    ("1", DEADLINE_SHORTER): (503, "dependency_unavailable", "DEADLINE_EXCEEDED"),
    # Pricing is soft for a customer owed no discount: cut by the budget, nothing is left to place the order.
    ("2", BUDGET_SHORTER): (503, "checkout_timeout", "at step 4 (cart.PlaceOrder)"),
    ("2", DEADLINE_SHORTER): (201, "sent", "pricing:no_adjustment:DEADLINE_EXCEEDED"),
    ("2 (fallbacks off)", BUDGET_SHORTER): (503, "checkout_timeout", "at step 2 (pricing.GetAdjustment)"),
    ("2 (fallbacks off)", DEADLINE_SHORTER): (503, "dependency_unavailable", "DEADLINE_EXCEEDED"),
    ("3", BUDGET_SHORTER): (503, "checkout_timeout", "at step 3 (cart.UpdateCart)"),
    ("3", DEADLINE_SHORTER): (503, "dependency_unavailable", "DEADLINE_EXCEEDED"),
    ("4", BUDGET_SHORTER): (503, "checkout_timeout", "at step 4 (cart.PlaceOrder)"),
    ("4", DEADLINE_SHORTER): (503, "dependency_unavailable", "DEADLINE_EXCEEDED"),
    ("5", BUDGET_SHORTER): (201, "queued", "email:queued:BUDGET_EXHAUSTED"),
    ("5", DEADLINE_SHORTER): (201, "queued", "email:queued:DEADLINE_EXCEEDED"),
    ("5 (discount)", BUDGET_SHORTER): (201, "queued", "email:queued:BUDGET_EXHAUSTED"),
    ("5 (discount)", DEADLINE_SHORTER): (201, "queued", "email:queued:DEADLINE_EXCEEDED"),
}


def limits(step: Step, column: str) -> dict[str, str]:
    """The budget and the slow service's deadline for a column; the other services keep their defaults."""
    budget, deadline = (CUT_MS, LONG_MS) if column == BUDGET_SHORTER else (LONG_MS, CUT_MS)
    return {"PURCHASE_CHECKOUT_BUDGET_MS": str(budget), f"PURCHASE_{step.service.upper()}_DEADLINE_MS": str(deadline)}


def outcome(reply: TestResponse) -> tuple[int, str, str]:
    """(status, error code or email outcome, the message or the degradations) of a checkout's answer."""
    body = reply.get_json()
    if reply.status_code >= 400:
        return reply.status_code, body["error"]["code"], body["error"]["message"]
    degraded = ",".join(f"{d['dependency']}:{d['fallback']}:{d['error']}" for d in body["degraded"])
    return reply.status_code, body["email"], degraded


def prepared_client(make_app: Callable[..., Flask], fakes: Fakes, step: Step, column: str, user: str) -> FlaskClient:
    """A gateway with the column's limits and the user's cart filled; the step's method is then made slow."""
    app = make_app(fallbacks=step.fallbacks, **limits(step, column))
    resources(app).relay.stop()  # queued emails stay queued: the relay would call the slow fake again
    client = app.test_client()
    if step.returning:
        place_earlier_order(fakes, client, user)
    fill_cart(client, user)
    faults = getattr(fakes, step.service).faults
    faults.calls.clear()
    faults.slow(step.method, SLOW_S)
    return client


@pytest.mark.parametrize("column", [BUDGET_SHORTER, DEADLINE_SHORTER])
@pytest.mark.parametrize("step", STEPS, ids=[f"step {step.number} {step.method}" for step in STEPS])
def test_a_slow_call_is_cut_by_the_shorter_of_budget_and_deadline(
    make_app: Callable[..., Flask], fakes: Fakes, user_id: str, step: Step, column: str
) -> None:
    client = prepared_client(make_app, fakes, step, column, user_id)

    started = time.monotonic()
    reply = checkout(client, user_id)
    elapsed = time.monotonic() - started

    status, code, why = EXPECTED[(step.number, column)]
    answered = outcome(reply)
    assert answered[:2] == (status, code), answered
    assert why in answered[2], answered
    assert getattr(fakes, step.service).faults.calls[step.method] == 1
    assert CUT_MS / 1000 * 0.9 < elapsed < ANSWERED_BEFORE_S, f"answered after {elapsed:.2f} s: {answered}"


def test_the_table_covers_every_step_in_both_columns() -> None:
    assert set(EXPECTED) == {(step.number, column) for step in STEPS for column in (BUDGET_SHORTER, DEADLINE_SHORTER)}
