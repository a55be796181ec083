"""The shop routes: products, cart, items, promo code, orders, with downstreams faked to their contract."""

from __future__ import annotations

import time

import grpc
import pytest
from flask.testing import FlaskClient

from tests.gateway.conftest import Fakes, user_headers

pytestmark = pytest.mark.functional


def add(client: FlaskClient, user_id: str, sku: str = "MUG-001", quantity: int = 2):
    """POST an item to the user's cart."""
    return client.post("/api/v1/cart/items", json={"sku": sku, "quantity": quantity}, headers=user_headers(user_id))


def test_products_are_the_catalogue_from_pricing(client: FlaskClient) -> None:
    reply = client.get("/api/v1/products")

    assert reply.status_code == 200
    products = reply.get_json()["products"]
    assert [p["sku"] for p in products] == ["MUG-001", "TEE-002", "BAG-003"]
    assert products[0] == {
        "sku": "MUG-001",
        "name": "Enamel camp mug",
        "description": "Holds 350 ml.",
        "category": "kitchen",
        "price_cents": 1250,
        "currency": "USD",
    }


def test_a_new_user_has_an_empty_cart_eligible_for_a_first_order_discount(client: FlaskClient, user_id: str) -> None:
    reply = client.get("/api/v1/cart", headers=user_headers(user_id))

    assert reply.status_code == 200
    assert reply.get_json() == {
        "user_id": user_id,
        "lines": [],
        "item_count": 0,
        "subtotal_cents": 0,
        "adjustment_cents": 0,
        "adjustment_reason": "",
        "total_cents": 0,
        "currency": "USD",
        "promo_code": "",
        "first_order": True,
        "discount_eligible": True,
    }


def test_an_added_item_has_the_catalogue_name_and_price(client: FlaskClient, user_id: str) -> None:
    reply = add(client, user_id, "TEE-002", 3)

    assert reply.status_code == 200
    cart = reply.get_json()
    assert cart["lines"] == [
        {
            "sku": "TEE-002",
            "name": "Organic cotton tee",
            "quantity": 3,
            "unit_price_cents": 2400,
            "line_total_cents": 7200,
        }
    ]
    assert (cart["item_count"], cart["subtotal_cents"], cart["total_cents"]) == (3, 7200, 7200)
    assert client.get("/api/v1/cart", headers=user_headers(user_id)).get_json() == cart


def test_adding_a_product_again_adds_to_its_line(client: FlaskClient, user_id: str) -> None:
    add(client, user_id, "MUG-001", 2)
    add(client, user_id, "BAG-003", 1)

    cart = add(client, user_id, "MUG-001", 1).get_json()

    assert [(line["sku"], line["quantity"]) for line in cart["lines"]] == [("MUG-001", 3), ("BAG-003", 1)]
    assert cart["subtotal_cents"] == 3 * 1250 + 1999


def test_removing_an_item_leaves_the_others(client: FlaskClient, user_id: str) -> None:
    add(client, user_id, "MUG-001")
    add(client, user_id, "BAG-003")

    reply = client.delete("/api/v1/cart/items/MUG-001", headers=user_headers(user_id))

    assert reply.status_code == 200
    assert [line["sku"] for line in reply.get_json()["lines"]] == ["BAG-003"]


def test_removing_an_item_not_in_the_cart_is_404(client: FlaskClient, user_id: str) -> None:
    reply = client.delete("/api/v1/cart/items/MUG-001", headers=user_headers(user_id))

    assert reply.status_code == 404
    assert reply.get_json()["error"] == {
        "code": "not_in_cart",
        "message": "SKU 'MUG-001' is not in your cart; GET /api/v1/cart shows what is",
        "retryable": False,
    }


def test_an_unknown_sku_is_404_and_never_reaches_the_cart(client: FlaskClient, fakes: Fakes, user_id: str) -> None:
    reply = add(client, user_id, "NOPE-1")

    assert reply.status_code == 404
    error = reply.get_json()["error"]
    assert error["code"] == "unknown_sku"
    assert "'NOPE-1'" in error["message"]
    assert "GET /api/v1/products" in error["message"]
    assert fakes.cart.faults.calls["AddItem"] == 0


def test_more_than_99_of_a_product_in_the_cart_is_422_with_the_carts_reason(client: FlaskClient, user_id: str) -> None:
    add(client, user_id, "MUG-001", 90)

    reply = add(client, user_id, "MUG-001", 10)

    assert reply.status_code == 422
    assert reply.get_json()["error"] == {
        "code": "invalid_value",
        "message": "the cart already holds 90 of 'MUG-001'; add at most 9 more",
        "retryable": False,
    }


def test_a_known_promo_code_is_put_on_the_cart_as_pricing_spells_it(client: FlaskClient, user_id: str) -> None:
    reply = client.post("/api/v1/cart/promo", json={"code": " save5 "}, headers=user_headers(user_id))

    assert reply.status_code == 200
    assert reply.get_json()["promo_code"] == "SAVE5"
    assert client.get("/api/v1/cart", headers=user_headers(user_id)).get_json()["promo_code"] == "SAVE5"


def test_an_unknown_promo_code_is_422_and_never_reaches_the_cart(
    client: FlaskClient, fakes: Fakes, user_id: str
) -> None:
    reply = client.post("/api/v1/cart/promo", json={"code": "NOPE"}, headers=user_headers(user_id))

    assert reply.status_code == 422
    assert reply.get_json()["error"] == {
        "code": "unknown_promo_code",
        "message": "unknown promo code 'NOPE'; check its spelling, or check out without one",
        "retryable": False,
    }
    assert fakes.cart.faults.calls["SetPromoCode"] == 0


def test_orders_are_listed_newest_first(client: FlaskClient, user_id: str) -> None:
    for key, sku in (("k1", "MUG-001"), ("k2", "BAG-003")):
        add(client, user_id, sku, 1)
        assert (
            client.post("/api/v1/checkout", headers={**user_headers(user_id), "Idempotency-Key": key}).status_code
            == 201
        )

    reply = client.get("/api/v1/orders", headers=user_headers(user_id))

    assert reply.status_code == 200
    orders = reply.get_json()["orders"]
    assert [order["lines"][0]["sku"] for order in orders] == ["BAG-003", "MUG-001"]
    assert {order["status"] for order in orders} == {"placed"}
    assert orders[1]["total_cents"] == 1250 - 125  # the first order got 10% off
    assert orders[1]["created_at"].endswith("Z")


def test_a_user_without_orders_has_an_empty_list(client: FlaskClient, user_id: str) -> None:
    reply = client.get("/api/v1/orders", headers=user_headers(user_id))

    assert (reply.status_code, reply.get_json()) == (200, {"orders": []})


@pytest.mark.parametrize(
    ("route", "dependency"),
    [("/api/v1/products", "pricing"), ("/api/v1/cart", "cart"), ("/api/v1/orders", "cart")],
)
def test_a_dependency_that_is_down_is_a_503_naming_it(
    client: FlaskClient, fakes: Fakes, user_id: str, route: str, dependency: str
) -> None:
    getattr(fakes, dependency).faults.fail()

    reply = client.get(route, headers=user_headers(user_id))

    assert reply.status_code == 503
    assert reply.headers["Retry-After"] == "1"
    assert reply.get_json()["error"] == {
        "code": "dependency_unavailable",
        "message": f"the {dependency} service is unavailable (UNAVAILABLE); please try again in a few seconds",
        "retryable": True,
        "dependency": dependency,
    }


def test_a_slow_dependency_costs_at_most_its_deadline(make_app, fakes: Fakes) -> None:
    client = make_app(PURCHASE_PRICING_DEADLINE_MS="100").test_client()
    fakes.pricing.faults.slow("ListProducts", 1.0)

    started = time.monotonic()
    reply = client.get("/api/v1/products")

    assert time.monotonic() - started < 0.8
    assert reply.status_code == 503
    assert "(DEADLINE_EXCEEDED)" in reply.get_json()["error"]["message"]


def test_adding_an_item_is_never_retried_but_reads_are(client: FlaskClient, fakes: Fakes, user_id: str) -> None:
    fakes.cart.faults.fail("AddItem")
    fakes.cart.faults.fail("GetCart")

    assert add(client, user_id).status_code == 503
    assert client.get("/api/v1/cart", headers=user_headers(user_id)).status_code == 503

    # A retried AddItem could add the items twice; GetCart is safe, so the channel retries it.
    assert fakes.cart.faults.calls["AddItem"] == 1
    assert fakes.cart.faults.calls["GetCart"] == 3


def test_a_contract_error_nobody_expected_keeps_the_dependencys_message(
    client: FlaskClient, fakes: Fakes, user_id: str
) -> None:
    fakes.cart.faults.fail("GetCart", grpc.StatusCode.FAILED_PRECONDITION)

    reply = client.get("/api/v1/cart", headers=user_headers(user_id))

    assert reply.status_code == 409
    assert reply.get_json()["error"] == {
        "code": "conflict",
        "message": "GetCart failed: injected by the test",
        "retryable": False,
    }
