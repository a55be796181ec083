"""Feature flags in the gateway: the checkout with checkout.fallbacks off and on, GET /api/v1/features,
and the user's context on every downstream call. Downstreams are contract fakes; the flags are real."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
import redis
from flask.testing import FlaskClient
from purchase.email.v1 import email_pb2

from purchase_lab.config import Settings
from purchase_lab.flags import (
    CHECKOUT_FALLBACKS,
    LOYALTY_DISCOUNT,
    FeatureFlags,
    UserContext,
    add_user,
    kill,
    ramp,
    set_flag,
)
from services.gateway.app import create_app
from tests.conftest import FlagVariant, flag_reached
from tests.gateway.conftest import Fakes, checkout, error_of, fill_cart, place_earlier_order, resources, user_headers

pytestmark = pytest.mark.functional

FEATURES = "/api/v1/features"
EMPLOYEE = "grace@purchase.example"


@pytest.fixture
def live_flags(flags_path: Path) -> Iterator[FeatureFlags]:
    """The gateway's flags, evaluating this test's live file."""
    flags = FeatureFlags.start(flags_path)
    yield flags
    flags.stop()


@pytest.fixture
def client(fakes: Fakes, redis_url: str, live_flags: FeatureFlags) -> Iterator[FlaskClient]:
    """The gateway wired to the fakes, its checkout deciding on fallbacks by the checkout.fallbacks flag."""
    with redis.Redis.from_url(redis_url) as queue:
        queue.flushdb()
    settings = Settings.from_env(
        {f"PURCHASE_{name.upper()}_TARGET": target for name, target in fakes.targets.items()}
        | {"PURCHASE_REDIS_URL": redis_url}
    )
    app = create_app(settings, flags=live_flags)
    app.config["TESTING"] = True
    yield app.test_client()
    resources(app).close()


def features_of(client: FlaskClient, user_id: str, **headers: str) -> dict[str, bool]:
    """GET /api/v1/features for the user; fails unless it answers 200."""
    reply = client.get(FEATURES, headers=user_headers(user_id, **headers))
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()["flags"]


def test_a_checkout_places_the_order_and_sends_its_emails_with_fallbacks_off_and_on(
    client: FlaskClient, fakes: Fakes, live_flags: FeatureFlags, flag_variants: FlagVariant, user_id: str
) -> None:
    flag_reached(live_flags, CHECKOUT_FALLBACKS, None, flag_variants.apply(CHECKOUT_FALLBACKS))
    fill_cart(client, user_id)

    reply = checkout(client, user_id)

    assert reply.status_code == 201
    body = reply.get_json()
    assert (body["status"], body["email"], body["degraded"]) == ("placed", "sent", [])
    assert (body["adjustment_cents"], body["total_cents"]) == (450, 4049)
    sent = {message.kind for message in fakes.email.outbox}
    assert sent == {email_pb2.EMAIL_KIND_ORDER_CONFIRMATION, email_pb2.EMAIL_KIND_DISCOUNT}


def test_the_fallbacks_flag_decides_whether_a_pricing_failure_costs_an_ineligible_user_the_order(
    client: FlaskClient, fakes: Fakes, live_flags: FeatureFlags, flag_variants: FlagVariant, user_id: str
) -> None:
    on = flag_variants.apply(CHECKOUT_FALLBACKS)
    flag_reached(live_flags, CHECKOUT_FALLBACKS, None, on)
    place_earlier_order(fakes, client, user_id)
    fill_cart(client, user_id)
    fakes.pricing.faults.fail("GetAdjustment")

    reply = checkout(client, user_id)

    if on:
        assert reply.status_code == 201
        assert reply.get_json()["degraded"] == [
            {"dependency": "pricing", "fallback": "no_adjustment", "error": "UNAVAILABLE"}
        ]
    else:
        assert (reply.status_code, error_of(reply)["dependency"]) == (503, "pricing")
        assert fakes.cart.faults.calls["PlaceOrder"] == 0


def test_killing_checkout_fallbacks_brings_back_the_original_all_hard_checkout(
    client: FlaskClient, fakes: Fakes, live_flags: FeatureFlags, flags_path: Path, user_id: str
) -> None:
    place_earlier_order(fakes, client, user_id)
    fill_cart(client, user_id)
    fakes.email.faults.fail()

    kill(CHECKOUT_FALLBACKS, flags_path)
    flag_reached(live_flags, CHECKOUT_FALLBACKS, None, False)
    reply = checkout(client, user_id)

    assert reply.status_code == 503
    assert error_of(reply)["code"] == "order_cancelled"


def test_features_lists_only_the_client_visible_flags_for_the_user(client: FlaskClient, user_id: str) -> None:
    assert features_of(client, user_id) == {LOYALTY_DISCOUNT: False}


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "the X-User-Id header is missing"),
        ({"X-User-Id": "-u1"}, "starting with a letter or digit"),
        ({"X-User-Id": "u-1", "X-App-Version": "2.4 beta"}, "X-App-Version '2.4 beta' is not a version"),
        ({"X-User-Id": "u-1", "X-App-Version": "v" * 65}, "send up to 64 letters, digits or . _ + -"),
    ],
)
def test_features_needs_a_valid_user(client: FlaskClient, headers: dict[str, str], message: str) -> None:
    reply = client.get(FEATURES, headers=headers)

    assert reply.status_code == 400
    assert message in error_of(reply)["message"]


def test_employees_get_a_ramped_feature_even_at_zero_percent(
    client: FlaskClient, live_flags: FeatureFlags, flags_path: Path, user_id: str
) -> None:
    ramp(LOYALTY_DISCOUNT, 0, flags_path)
    flag_reached(live_flags, LOYALTY_DISCOUNT, UserContext("emp", EMPLOYEE), True)

    assert features_of(client, user_id, X_User_Email=EMPLOYEE) == {LOYALTY_DISCOUNT: True}
    assert features_of(client, EMPLOYEE) == {LOYALTY_DISCOUNT: True}  # a user id that is the address
    assert features_of(client, user_id) == {LOYALTY_DISCOUNT: False}
    assert features_of(client, user_id, X_User_Email="grace@purchase.example.com") == {LOYALTY_DISCOUNT: False}


def test_a_named_user_gets_the_feature_and_nobody_else_does(
    client: FlaskClient, live_flags: FeatureFlags, flags_path: Path, user_id: str
) -> None:
    add_user(LOYALTY_DISCOUNT, user_id, flags_path)
    flag_reached(live_flags, LOYALTY_DISCOUNT, UserContext(user_id), True)

    assert features_of(client, user_id) == {LOYALTY_DISCOUNT: True}
    assert features_of(client, f"{user_id}x", X_User_Email=EMPLOYEE) == {LOYALTY_DISCOUNT: False}


def test_the_kill_switch_gives_everyone_the_code_default(
    client: FlaskClient, live_flags: FeatureFlags, flags_path: Path, user_id: str
) -> None:
    set_flag(LOYALTY_DISCOUNT, "on", flags_path)
    flag_reached(live_flags, LOYALTY_DISCOUNT, UserContext(user_id), True)

    kill(LOYALTY_DISCOUNT, flags_path)
    flag_reached(live_flags, LOYALTY_DISCOUNT, UserContext(user_id), False)

    assert features_of(client, user_id, X_User_Email=EMPLOYEE) == {LOYALTY_DISCOUNT: False}


def test_flags_may_target_the_app_version_the_client_sends(
    client: FlaskClient, live_flags: FeatureFlags, flags_path: Path, user_id: str
) -> None:
    document = json.loads(flags_path.read_text(encoding="utf-8"))
    document["flags"][LOYALTY_DISCOUNT]["targeting"] = {
        "if": [{"sem_ver": [{"var": "app_version"}, ">=", "2.0.0"]}, "on", "off"]
    }
    flags_path.write_text(json.dumps(document), encoding="utf-8")
    flag_reached(live_flags, LOYALTY_DISCOUNT, UserContext(user_id, app_version="2.4.1"), True)

    assert features_of(client, user_id, X_App_Version="2.4.1") == {LOYALTY_DISCOUNT: True}
    assert features_of(client, user_id, X_App_Version="1.9.0") == {LOYALTY_DISCOUNT: False}
    assert features_of(client, user_id) == {LOYALTY_DISCOUNT: False}


class MetadataRecorder:
    """Stands in for a fake: records each call's method and metadata, then lets the fake answer."""

    def __init__(self, fake: object, calls: list[tuple[str, dict[str, str]]]) -> None:
        self._fake = fake
        self._calls = calls

    def __getattr__(self, method: str) -> Callable[[object, grpc.ServicerContext], object]:
        answer = getattr(self._fake, method)

        def record(request: object, context: grpc.ServicerContext) -> object:
            self._calls.append((method, dict(context.invocation_metadata())))
            return answer(request, context)

        return record


@pytest.fixture
def downstream_calls(fake_servers: dict[str, tuple], fakes: Fakes) -> list[tuple[str, dict[str, str]]]:
    """Every call the gateway makes to cart, pricing and email, with its metadata."""
    calls: list[tuple[str, dict[str, str]]] = []
    for name, (_server, _target, holder) in fake_servers.items():
        holder.fake = MetadataRecorder(getattr(fakes, name), calls)
    return calls


def test_every_downstream_call_carries_the_user_so_each_service_sees_the_same_variant(
    client: FlaskClient, downstream_calls: list[tuple[str, dict[str, str]]], user_id: str
) -> None:
    headers = {"X_User_Email": "ada@example.com", "X_App_Version": "2.4.1"}
    fill_cart(client, user_id, ("MUG-001", 1))
    client.post("/api/v1/cart/promo", json={"code": "SAVE5"}, headers=user_headers(user_id, **headers))

    assert checkout(client, user_id, **headers).status_code == 201

    expected = dict(UserContext(user_id, "ada@example.com", "2.4.1").to_grpc_metadata())
    with_context = {method for method, metadata in downstream_calls if expected.items() <= metadata.items()}
    assert {"GetAdjustment", "PlaceOrder", "SendOrderConfirmation", "GetPromotion", "SetPromoCode"} <= with_context
    users = {metadata.get("x-purchase-user-id") for _method, metadata in downstream_calls}
    assert users == {user_id}
