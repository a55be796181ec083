"""Every error code a downstream may answer, at every step of the checkout, in both columns of the table.

A contract error (NOT_FOUND, INVALID_ARGUMENT, FAILED_PRECONDITION) is the dependency's answer about
the request; the others say it could not serve it now. Only UNAVAILABLE is retried by the channel.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from flask import Flask
from purchase.cart.v1 import cart_pb2

from tests.gateway.conftest import Fakes, checkout
from tests.gateway.test_checkout_table import (
    ELIGIBLE,
    NOT_ELIGIBLE,
    OFF,
    ON,
    Shop,
    assert_placed,
    break_call,
    calls_seen,
    open_shop,
)

pytestmark = pytest.mark.functional

NOT_FOUND = grpc.StatusCode.NOT_FOUND
INVALID_ARGUMENT = grpc.StatusCode.INVALID_ARGUMENT
FAILED_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
FAILURES = (
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
)
# A contract error nobody expected at that step is passed on with the dependency's own message.
PASSED_ON = {NOT_FOUND: "not found", INVALID_ARGUMENT: "invalid value", FAILED_PRECONDITION: "conflict"}


def each_failure(outcome: str) -> dict[grpc.StatusCode, str]:
    """The same outcome for every code that says the dependency could not serve the call."""
    return dict.fromkeys(FAILURES, outcome)


# (failing call, column, eligibility) -> what each code leads to.
EXPECTED: dict[tuple[str, str, str], dict[grpc.StatusCode, str]] = {
    ("GetCart", ON, ELIGIBLE): {**PASSED_ON, **each_failure("cart unavailable")},
    ("GetCart", OFF, ELIGIBLE): {**PASSED_ON, **each_failure("cart unavailable")},
    # With fallbacks on any failure of pricing is one: the eligible retry, the others pay full price.
    ("GetAdjustment", ON, ELIGIBLE): dict.fromkeys([*PASSED_ON, *FAILURES], "try again for the discount"),
    ("GetAdjustment", ON, NOT_ELIGIBLE): dict.fromkeys([*PASSED_ON, *FAILURES], "placed without a discount"),
    ("GetAdjustment", OFF, ELIGIBLE): {**PASSED_ON, **each_failure("pricing unavailable")},
    ("GetAdjustment", OFF, NOT_ELIGIBLE): {**PASSED_ON, **each_failure("pricing unavailable")},
    # The cart refusing the discount or the order means it changed under the checkout: it starts again once.
    ("UpdateCart", ON, ELIGIBLE): {
        NOT_FOUND: "not found",
        INVALID_ARGUMENT: "cart changed",
        FAILED_PRECONDITION: "cart changed",
        **each_failure("cart unavailable"),
    },
    ("UpdateCart", OFF, ELIGIBLE): {
        NOT_FOUND: "not found",
        INVALID_ARGUMENT: "cart changed",
        FAILED_PRECONDITION: "cart changed",
        **each_failure("cart unavailable"),
    },
    ("PlaceOrder", ON, ELIGIBLE): {
        NOT_FOUND: "not found",
        INVALID_ARGUMENT: "invalid value",
        FAILED_PRECONDITION: "cart changed",
        **each_failure("cart unavailable"),
    },
    ("PlaceOrder", OFF, ELIGIBLE): {
        NOT_FOUND: "not found",
        INVALID_ARGUMENT: "invalid value",
        FAILED_PRECONDITION: "cart changed",
        **each_failure("cart unavailable"),
    },
    # Email refusing an email is final: the order stands unsent. A failure queues it.
    ("email", ON, ELIGIBLE): {**dict.fromkeys(PASSED_ON, "not sent"), **each_failure("queued")},
    ("email", OFF, ELIGIBLE): dict.fromkeys([*PASSED_ON, *FAILURES], "cancelled"),
}
CASES = [(*case, code) for case, codes in EXPECTED.items() for code in codes]
ERRORS = {
    "not found": (404, "not_found"),
    "invalid value": (422, "invalid_value"),
    "conflict": (409, "conflict"),
    "cart changed": (409, "cart_changed"),
    "cart unavailable": (503, "dependency_unavailable"),
    "pricing unavailable": (503, "dependency_unavailable"),
    "try again for the discount": (503, "dependency_unavailable"),
    "cancelled": (503, "order_cancelled"),
}


def error_message(outcome: str, failing: str, code: grpc.StatusCode) -> str:
    """What the error says for an outcome that places no order."""
    if outcome in PASSED_ON.values():
        return f"{failing} failed: injected by the test"
    if outcome == "cart changed":
        return "your cart changed during checkout; please check out again"
    if outcome == "try again for the discount":
        return "pricing is unavailable and you are eligible for a discount; please try again"
    dependency = outcome.split()[0]
    return f"the {dependency} service is unavailable ({code.name}); please try again in a few seconds"


def assert_no_order(shop: Shop, reply, outcome: str, failing: str, code: grpc.StatusCode) -> None:
    """An error body with its status and message, no order, and Retry-After on a 503."""
    status, error_code = ERRORS[outcome]
    error = reply.get_json()["error"]
    assert (reply.status_code, error["code"], error["retryable"]) == (status, error_code, status == 503)
    assert error["message"] == error_message(outcome, failing, code)
    if status == 503:
        assert reply.headers["Retry-After"] == "1"
        assert error["dependency"] == ("cart" if outcome.startswith("cart") else "pricing")
    assert shop.orders() == []
    assert shop.cart_lines() == [("MUG-001", 2), ("BAG-003", 1)]


def assert_outcome(shop: Shop, reply, outcome: str, failing: str, code: grpc.StatusCode) -> None:
    """What the client got for one code at one step, and what the shop holds afterwards."""
    if outcome == "placed without a discount":
        degraded = [{"dependency": "pricing", "fallback": "no_adjustment", "error": code.name}]
        assert_placed(shop, reply, "sent", degraded)
    elif outcome == "queued":
        order_id = assert_placed(
            shop, reply, "queued", [{"dependency": "email", "fallback": "queued", "error": code.name}]
        )
        assert shop.queued() == [("order_confirmation", order_id), ("discount", order_id)]
    elif outcome == "not sent":
        assert_placed(shop, reply, "not_sent", [{"dependency": "email", "fallback": "none", "error": code.name}])
        assert shop.queued() == []
    elif outcome == "cancelled":
        [order] = shop.orders()
        assert order.status == cart_pb2.ORDER_STATUS_CANCELLED
        assert reply.status_code == 503
        assert reply.get_json()["error"]["message"].startswith(
            f"the confirmation email could not be sent (email: {code.name}), so order {order.order_id} was cancelled"
        )
        assert shop.cart_lines() == [("MUG-001", 2), ("BAG-003", 1)]
    else:
        assert_no_order(shop, reply, outcome, failing, code)


@pytest.mark.parametrize(
    ("failing", "column", "eligibility", "code"),
    CASES,
    ids=["-".join(map(str, case[:3])) + f"-{case[3].name}" for case in CASES],
)
def test_every_error_code_at_every_step(
    make_app: Callable[..., Flask],
    fakes: Fakes,
    user_id: str,
    failing: str,
    column: str,
    eligibility: str,
    code: grpc.StatusCode,
) -> None:
    outcome = EXPECTED[failing, column, eligibility][code]
    shop = open_shop(make_app, fakes, user_id, column, eligibility)
    break_call(fakes, failing, code)

    reply = checkout(shop.client, shop.user_id)

    method = "SendOrderConfirmation" if failing == "email" else failing
    attempts = 3 if code is grpc.StatusCode.UNAVAILABLE else 1
    # The checkout starts again once when the cart changed under it.
    assert calls_seen(fakes)[method] == attempts * (2 if outcome == "cart changed" else 1)
    assert_outcome(shop, reply, outcome, failing, code)
