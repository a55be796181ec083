"""Bad requests: headers, bodies, unknown routes, wrong methods, large bodies; each a JSON error that says why."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.gateway.conftest import Fakes, user_headers

pytestmark = pytest.mark.functional

ITEM = "/api/v1/cart/items"


@pytest.mark.parametrize(
    ("headers", "code", "hint"),
    [
        ({}, "missing_header", "the X-User-Id header is missing"),
        ({"X-User-Id": "ada lovelace"}, "invalid_header", "use 1 to 64 letters, digits or . _ @ -"),
        ({"X-User-Id": "u" * 65}, "invalid_header", "use 1 to 64 letters"),
        ({"X-User-Id": "ada", "X-User-Email": "not-an-address"}, "invalid_header", "X-User-Email 'not-an-address'"),
    ],
)
@pytest.mark.parametrize(("method", "route"), [("GET", "/api/v1/cart"), ("GET", "/api/v1/orders"), ("POST", ITEM)])
def test_a_missing_or_invalid_user_header_is_400(
    client: FlaskClient, fakes: Fakes, headers: dict[str, str], code: str, hint: str, method: str, route: str
) -> None:
    reply = client.open(route, method=method, headers=headers, json={"sku": "MUG-001", "quantity": 1})

    assert reply.status_code == 400
    error = reply.get_json()["error"]
    assert (error["code"], error["retryable"]) == (code, False)
    assert hint in error["message"]
    assert sum(fakes.cart.faults.calls.values()) == 0


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ("{not json", "invalid_json", 'the body is not valid JSON; send an object such as {"sku": "COF-ETH-250"'),
        ("", "invalid_json", "the body is not valid JSON"),
        ("[1, 2]", "invalid_json", "the body is not a JSON object; send one such as"),
        ('{"quantity": 2}', "missing_field", "the body has no 'sku'; send an object such as"),
        ('{"sku": "MUG-001"}', "missing_field", "the body has no 'quantity'"),
    ],
)
def test_a_malformed_body_is_400(client: FlaskClient, user_id: str, body: str, code: str, message: str) -> None:
    reply = client.post(ITEM, data=body, headers=user_headers(user_id), content_type="application/json")

    assert reply.status_code == 400
    error = reply.get_json()["error"]
    assert (error["code"], error["retryable"]) == (code, False)
    assert error["message"].startswith(message)


@pytest.mark.parametrize("quantity", [0, -1, 100, 2.5, "2", True, None])
def test_a_quantity_that_is_not_1_to_99_is_422(client: FlaskClient, fakes: Fakes, user_id: str, quantity) -> None:
    reply = client.post(ITEM, json={"sku": "MUG-001", "quantity": quantity}, headers=user_headers(user_id))

    assert reply.status_code == 422
    error = reply.get_json()["error"]
    assert error["code"] == "invalid_value"
    assert error["message"].startswith("quantity must be a whole number from 1 to 99; got ")
    assert fakes.cart.faults.calls["AddItem"] == 0


@pytest.mark.parametrize("sku", ["", "   ", 42, None, "S" * 65])
def test_a_sku_that_is_not_a_non_empty_string_is_422(client: FlaskClient, user_id: str, sku) -> None:
    reply = client.post(ITEM, json={"sku": sku, "quantity": 1}, headers=user_headers(user_id))

    assert reply.status_code == 422
    assert reply.get_json()["error"]["message"].startswith("sku must be a non-empty string of at most 64 characters")


def test_an_empty_promo_code_is_422(client: FlaskClient, user_id: str) -> None:
    reply = client.post("/api/v1/cart/promo", json={"code": " "}, headers=user_headers(user_id))

    assert reply.status_code == 422
    assert reply.get_json()["error"]["code"] == "invalid_value"


def test_the_body_is_read_as_json_whatever_its_content_type(client: FlaskClient, user_id: str) -> None:
    # curl -d sends form encoding unless told otherwise; the shop still understands the JSON.
    reply = client.post(ITEM, data='{"sku": "MUG-001", "quantity": 1}', headers=user_headers(user_id))

    assert reply.status_code == 200


def test_a_body_over_16_kib_is_413(client: FlaskClient, user_id: str) -> None:
    body = '{"sku": "MUG-001", "quantity": 1, "padding": "' + "x" * 16 * 1024 + '"}'

    reply = client.post(ITEM, data=body, headers=user_headers(user_id), content_type="application/json")

    assert reply.status_code == 413
    assert reply.get_json()["error"] == {
        "code": "body_too_large",
        "message": "the request body is larger than 16384 bytes; send a smaller body",
        "retryable": False,
    }


def test_an_unknown_route_is_a_json_404(client: FlaskClient) -> None:
    reply = client.get("/api/v1/nothing-here")

    assert reply.status_code == 404
    assert reply.get_json()["error"] == {
        "code": "not_found",
        "message": "there is no GET /api/v1/nothing-here; see GET /openapi.json for the API",
        "retryable": False,
    }


def test_a_wrong_method_is_a_json_405_naming_the_allowed_ones(client: FlaskClient, user_id: str) -> None:
    reply = client.put("/api/v1/cart", headers=user_headers(user_id))

    assert reply.status_code == 405
    assert reply.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert reply.get_json()["error"] == {
        "code": "method_not_allowed",
        "message": "PUT is not allowed on /api/v1/cart; use GET, HEAD, OPTIONS",
        "retryable": False,
    }


def test_an_email_header_is_optional_and_checked_loosely(client: FlaskClient, user_id: str) -> None:
    headers = user_headers(user_id, X_User_Email="ada+shop@lab.example.org")

    assert client.get("/api/v1/cart", headers=headers).status_code == 200
