"""Feature flags across the real processes: one user, one variant in the gateway and in pricing; ramps,
employees, named users and the kill switch; the loyalty discount and its defect; a broken live file."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from openfeature.contrib.tools.flagd.core import FlagdCore
from purchase.pricing.v1 import pricing_pb2, pricing_pb2_grpc

from purchase_lab.flags import (
    CHECKOUT_FALLBACKS,
    LOYALTY_DISCOUNT,
    UserContext,
    read_document,
)
from purchase_lab.health import wait_until
from purchase_lab.lab_reset import reset_lab
from services.pricing.adjustments import LOYALTY_REASON
from tests.conftest import FlagVariant, Lab
from tests.integration.test_shop import Reply, Shopper, call

pytestmark = pytest.mark.integration
logger = logging.getLogger(__name__)

EMPLOYEE_EMAIL = "grace@purchase.example"
RAMP_USERS = [f"ramp-{number:04d}" for number in range(1000)]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The whole system, with deadlines long enough that a busy machine never degrades a checkout."""
    deadlines = {f"PURCHASE_{name}_DEADLINE_MS": "3000" for name in ("CART", "PRICING", "EMAIL")}
    system = Lab(tmp_path_factory.mktemp("flags"), env=deadlines)
    try:
        yield system.start()
    finally:
        system.stop()


@pytest.fixture(autouse=True)
def committed_flags(flags_path: Path) -> Iterator[None]:
    """Every test starts from, and leaves, the lab's flags as committed."""
    reset_lab(flags_path.parent)
    yield
    reset_lab(flags_path.parent)


@pytest.fixture(scope="module")
def pricing(lab: Lab) -> Iterator[pricing_pb2_grpc.PricingServiceStub]:
    """A stub of the pricing process."""
    with grpc.insecure_channel(lab.target("pricing")) as channel:
        yield pricing_pb2_grpc.PricingServiceStub(channel)


def admin(lab: Lab, method: str, path: str, body: object = None) -> Reply:
    """Call the gateway's admin API with the lab's token; fails unless it answers 200."""
    reply = call(lab, method, f"/api/v1/admin{path}", body, Authorization=f"Bearer {lab.admin_token}")
    assert reply.status == 200, reply.body
    return reply


def gateway_flags(lab: Lab, user: UserContext) -> dict[str, bool]:
    """Every flag as the gateway process serves it to the user."""
    query = f"user_id={user.user_id}" + (f"&email={user.email}" if user.email else "")
    return admin(lab, "GET", f"/flags/evaluate?{query}").body["flags"]


def client_features(lab: Lab, user: UserContext) -> dict[str, bool]:
    """GET /api/v1/features as the user's client sees it."""
    headers = {"X_User_Email": user.email} if user.email else {}
    reply = call(lab, "GET", "/api/v1/features", X_User_Id=user.user_id, **headers)
    assert reply.status == 200, reply.body
    return reply.body["flags"]


def pricing_loyalty(pricing: pricing_pb2_grpc.PricingServiceStub, user: UserContext) -> bool:
    """Whether pricing gives the user, as a returning customer with a coffee cart, the loyalty discount."""
    request = pricing_pb2.GetAdjustmentRequest(
        user_id=user.user_id, items=[pricing_pb2.LineItem(sku="COF-ESP-1000", quantity=1)], previous_orders=1
    )
    return pricing.GetAdjustment(request, timeout=5, metadata=user.to_grpc_metadata()).reason == LOYALTY_REASON


def loyalty_everywhere(lab: Lab, pricing: pricing_pb2_grpc.PricingServiceStub, user: UserContext, on: bool) -> None:
    """Wait until the gateway and pricing both serve the loyalty flag to the user as on."""
    wait_until(
        lambda: client_features(lab, user)[LOYALTY_DISCOUNT] is on and pricing_loyalty(pricing, user) is on,
        f"{LOYALTY_DISCOUNT} {'on' if on else 'off'} for {user.user_id} in gateway and pricing",
        timeout=2,
    )


def returning_shopper(lab: Lab, user_id: str, email: str | None = None) -> Shopper:
    """A user with one order placed, so the next checkout is a returning customer's."""
    shopper = Shopper(lab, user_id)
    headers = {"X_User_Email": email} if email else {}
    assert shopper("POST", "/api/v1/cart/items", {"sku": "TEA-SEN-100", "quantity": 1}, **headers).status == 200
    assert shopper("POST", "/api/v1/checkout", Idempotency_Key="first", **headers).status == 201
    return shopper


def second_checkout(shopper: Shopper, *skus: str, email: str | None = None) -> Reply:
    """Fill the returning shopper's cart with one of each SKU and check it out."""
    headers = {"X_User_Email": email} if email else {}
    for sku in skus:
        assert shopper("POST", "/api/v1/cart/items", {"sku": sku, "quantity": 1}, **headers).status == 200
    return shopper("POST", "/api/v1/checkout", Idempotency_Key="second", **headers)


def test_a_checkout_places_the_order_with_fallbacks_off_and_on(
    lab: Lab, flag_variants: FlagVariant, user_id: str
) -> None:
    on = flag_variants.apply(CHECKOUT_FALLBACKS)
    wait_until(lambda: gateway_flags(lab, UserContext(user_id))[CHECKOUT_FALLBACKS] is on, "the gateway", timeout=2)
    shopper = Shopper(lab, user_id)
    shopper.add("COF-ETH-250", 2)

    reply = shopper.checkout("only")

    assert reply.status == 201
    assert (reply.body["status"], reply.body["email"], reply.body["degraded"]) == ("placed", "sent", [])
    assert reply.body["adjustment_reason"] == "10% off your first order"


def users_on(lab: Lab, pricing: pricing_pb2_grpc.PricingServiceStub) -> tuple[set[str], set[str]]:
    """The ramp users who have the loyalty flag, as the gateway says and as pricing prices."""
    users = [UserContext(user_id) for user_id in RAMP_USERS]
    with ThreadPoolExecutor(max_workers=8) as pool:
        in_gateway = list(pool.map(lambda user: client_features(lab, user)[LOYALTY_DISCOUNT], users))
        in_pricing = list(pool.map(lambda user: pricing_loyalty(pricing, user), users))
    return (
        {user.user_id for user, on in zip(users, in_gateway, strict=True) if on},
        {user.user_id for user, on in zip(users, in_pricing, strict=True) if on},
    )


def test_each_user_gets_one_variant_in_gateway_and_pricing_and_a_ramp_only_adds_users(
    lab: Lab, pricing: pricing_pb2_grpc.PricingServiceStub, flags_path: Path
) -> None:
    on: dict[int, set[str]] = {0: set()}
    for percent in (5, 10, 50):
        admin(lab, "PUT", f"/flags/{LOYALTY_DISCOUNT}/ramp", {"percent": percent})
        evaluator = FlagdCore()
        evaluator.set_flags(read_document(flags_path))
        expected = {
            user
            for user in RAMP_USERS
            if evaluator.resolve_boolean_value(LOYALTY_DISCOUNT, False, UserContext(user).to_evaluation_context()).value
        }
        witness = UserContext(min(expected - on[max(on)]))  # a user this step turns on
        loyalty_everywhere(lab, pricing, witness, True)

        in_gateway, in_pricing = users_on(lab, pricing)

        assert in_gateway == in_pricing == expected
        on[percent] = in_gateway
    shares = {percent: round(len(users) / len(RAMP_USERS) * 100, 1) for percent, users in on.items() if percent}
    logger.info("share of %d users on, through the real gateway and pricing: %s", len(RAMP_USERS), shares)
    assert on[5] <= on[10] <= on[50]
    for percent, share in shares.items():
        assert share == pytest.approx(percent, abs=2.5)


def test_the_checkout_gives_the_loyalty_discount_to_exactly_the_users_the_gateway_reports(
    lab: Lab, pricing: pricing_pb2_grpc.PricingServiceStub, user_id: str
) -> None:
    admin(lab, "PUT", f"/flags/{LOYALTY_DISCOUNT}/ramp", {"percent": 50})
    loyalty_everywhere(lab, pricing, UserContext("ramp-probe", EMPLOYEE_EMAIL), True)
    candidates = [f"{user_id}-{number}" for number in range(12)]
    on = {user for user in candidates if client_features(lab, UserContext(user))[LOYALTY_DISCOUNT]}
    assert 0 < len(on) < len(candidates)

    for user in candidates:
        reply = second_checkout(returning_shopper(lab, user), "COF-COL-500", "BRW-V60-02")
        assert reply.status == 201
        discount = (reply.body["adjustment_cents"], reply.body["adjustment_reason"])
        assert discount == ((120 + 75, LOYALTY_REASON) if user in on else (0, "")), user

    employee = next(user for user in candidates if user not in on)
    shopper = returning_shopper(lab, f"{employee}-emp", EMPLOYEE_EMAIL)
    reply = second_checkout(shopper, "COF-COL-500", email=EMPLOYEE_EMAIL)
    assert reply.body["adjustment_reason"] == LOYALTY_REASON  # the email reached pricing too


def test_the_loyalty_defect_appears_only_with_the_flag_on(
    lab: Lab, pricing: pricing_pb2_grpc.PricingServiceStub, flag_variants: FlagVariant, user_id: str
) -> None:
    on = flag_variants.apply(LOYALTY_DISCOUNT)
    loyalty_everywhere(lab, pricing, UserContext(user_id), on)
    errors_before = lab.logs("pricing").count("KeyError")

    reply = second_checkout(returning_shopper(lab, user_id), "COF-COL-500", "HOM-MUG-350")

    assert reply.status == 201
    assert (reply.body["adjustment_cents"], reply.body["total_cents"]) == (0, 2400 + 1800)
    failed = [{"dependency": "pricing", "fallback": "no_adjustment", "error": "UNKNOWN"}]
    assert reply.body["degraded"] == (failed if on else [])
    assert lab.logs("pricing").count("KeyError") - errors_before == (1 if on else 0)


def test_with_fallbacks_off_the_defect_fails_the_checkout(
    lab: Lab, pricing: pricing_pb2_grpc.PricingServiceStub, user_id: str
) -> None:
    admin(lab, "POST", f"/flags/{LOYALTY_DISCOUNT}/users", {"user_id": user_id})
    admin(lab, "PUT", f"/flags/{CHECKOUT_FALLBACKS}", {"value": "off"})
    loyalty_everywhere(lab, pricing, UserContext(user_id), True)
    wait_until(lambda: not gateway_flags(lab, UserContext(user_id))[CHECKOUT_FALLBACKS], "fallbacks off", timeout=2)

    reply = second_checkout(returning_shopper(lab, user_id), "HOM-CST-OAK")

    assert (reply.status, reply.body["error"]["dependency"]) == (503, "pricing")


def test_employees_are_on_at_zero_percent_and_a_named_user_too_in_every_process(
    lab: Lab, pricing: pricing_pb2_grpc.PricingServiceStub, user_id: str
) -> None:
    employee, named, other = UserContext(user_id, EMPLOYEE_EMAIL), UserContext(f"{user_id}-n"), UserContext(user_id)
    admin(lab, "PUT", f"/flags/{LOYALTY_DISCOUNT}/ramp", {"percent": 0})
    admin(lab, "POST", f"/flags/{LOYALTY_DISCOUNT}/users", {"user_id": named.user_id})

    loyalty_everywhere(lab, pricing, employee, True)
    loyalty_everywhere(lab, pricing, named, True)
    assert client_features(lab, other) == {LOYALTY_DISCOUNT: False}
    assert pricing_loyalty(pricing, other) is False


def test_the_kill_switch_gives_every_process_the_code_defaults(
    lab: Lab, pricing: pricing_pb2_grpc.PricingServiceStub, user_id: str
) -> None:
    employee = UserContext(user_id, EMPLOYEE_EMAIL)
    admin(lab, "PUT", f"/flags/{LOYALTY_DISCOUNT}", {"value": "on"})
    loyalty_everywhere(lab, pricing, employee, True)

    for key in (LOYALTY_DISCOUNT, CHECKOUT_FALLBACKS):
        admin(lab, "POST", f"/flags/{key}/kill")

    loyalty_everywhere(lab, pricing, employee, False)
    wait_until(lambda: not any(gateway_flags(lab, employee).values()), "every flag at its code default", timeout=2)


def test_a_broken_live_file_keeps_every_process_on_the_last_good_flags(
    lab: Lab, pricing: pricing_pb2_grpc.PricingServiceStub, flags_path: Path, user_id: str
) -> None:
    user = UserContext(user_id)
    admin(lab, "POST", f"/flags/{LOYALTY_DISCOUNT}/users", {"user_id": user_id})
    loyalty_everywhere(lab, pricing, user, True)
    reported = {name: lab.logs(name).count("meanwhile serving the last good flags") for name in ("gateway", "pricing")}

    flags_path.write_text('{"flags": {"pricing.loyalty_discount": {"state": "ON"', encoding="utf-8")

    for name, before in reported.items():
        wait_until(lambda name=name, before=before: lab.logs(name).count("last good flags") > before, name, timeout=2)
    assert client_features(lab, user) == {LOYALTY_DISCOUNT: True}
    assert pricing_loyalty(pricing, user) is True
    assert gateway_flags(lab, user)[CHECKOUT_FALLBACKS] is True
    listed = call(lab, "GET", "/api/v1/admin/flags", Authorization=f"Bearer {lab.admin_token}")
    assert (listed.status, listed.body["error"]["code"]) == (409, "invalid_flags_file")
    admin(lab, "POST", "/reset")
    loyalty_everywhere(lab, pricing, user, False)
