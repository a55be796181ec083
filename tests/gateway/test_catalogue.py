"""The last good catalogue: while pricing fails, browsing and adding to the cart go on from pricing's last answer."""

from __future__ import annotations

import grpc
import pytest
from flask.testing import FlaskClient

from purchase_lab.ports import free_port
from tests.gateway.conftest import Fakes, user_headers

pytestmark = pytest.mark.functional

STALE = {"dependency": "pricing", "fallback": "last_good_catalogue", "error": "UNAVAILABLE"}


def add(client: FlaskClient, user_id: str, sku: str = "MUG-001", quantity: int = 2):
    """POST an item to the user's cart."""
    return client.post("/api/v1/cart/items", json={"sku": sku, "quantity": quantity}, headers=user_headers(user_id))


def test_the_product_list_stays_hard_but_what_it_listed_can_still_be_added(
    client: FlaskClient, fakes: Fakes, user_id: str
) -> None:
    assert "stale" not in client.get("/api/v1/products").get_json()
    fakes.pricing.faults.fail()

    assert client.get("/api/v1/products").status_code == 503
    reply = add(client, user_id, "BAG-003", 1)
    assert (reply.status_code, reply.get_json()["stale"]) == (200, True)


def test_while_pricing_is_down_an_item_it_described_is_added_at_its_last_price(
    client: FlaskClient, fakes: Fakes, user_id: str
) -> None:
    client.get("/api/v1/products")
    fakes.pricing.faults.fail("GetProduct")

    reply = add(client, user_id)

    assert reply.status_code == 200
    body = reply.get_json()
    assert body["stale"] is True
    assert body["degraded"] == [STALE]
    assert [(line["sku"], line["quantity"], line["unit_price_cents"]) for line in body["lines"]] == [
        ("MUG-001", 2, 1250)
    ]
    fakes.pricing.faults.recover()
    assert "stale" not in add(client, user_id, "MUG-001", 1).get_json()


def test_a_product_pricing_never_described_still_fails_with_pricings_error(
    client: FlaskClient, fakes: Fakes, user_id: str
) -> None:
    fakes.pricing.faults.fail()

    reply = add(client, user_id)

    assert reply.status_code == 503
    assert reply.get_json()["error"]["dependency"] == "pricing"
    assert fakes.cart.faults.calls["AddItem"] == 0


def test_an_unknown_sku_is_never_served_from_the_kept_catalogue(
    client: FlaskClient, fakes: Fakes, user_id: str
) -> None:
    client.get("/api/v1/products")
    fakes.pricing.faults.fail("GetProduct", grpc.StatusCode.INVALID_ARGUMENT)

    reply = add(client, user_id)

    assert reply.status_code == 422
    assert "stale" not in reply.get_json()


def test_the_checkout_after_a_stale_add_is_priced_by_pricing(client: FlaskClient, fakes: Fakes, user_id: str) -> None:
    client.get("/api/v1/products")
    fakes.pricing.faults.fail("GetProduct")
    add(client, user_id)
    fakes.pricing.faults.recover()

    reply = client.post("/api/v1/checkout", headers={**user_headers(user_id), "Idempotency-Key": f"k-{user_id}"})

    assert reply.status_code == 201
    body = reply.get_json()
    assert body["degraded"] == []
    assert body["subtotal_cents"] == 2500
    assert fakes.pricing.faults.calls["GetAdjustment"] == 1


def test_without_redis_the_shop_still_sells_and_the_catalogue_tries_redis_once_per_pause(
    make_app, caplog: pytest.LogCaptureFixture, user_id: str
) -> None:
    client = make_app(PURCHASE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0").test_client()

    replies = [client.get("/api/v1/products").status_code for _ in range(3)]

    assert replies == [200, 200, 200]
    assert add(client, user_id).status_code == 200
    warnings = [record for record in caplog.records if "last good catalogue was not updated" in record.getMessage()]
    assert len(warnings) == 1
