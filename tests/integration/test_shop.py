"""Shopping through the real gateway (under gunicorn) with real cart, pricing, email and Redis processes."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from purchase.email.v1 import email_pb2, email_pb2_grpc

from purchase_lab.health import wait_until
from tests.conftest import Lab

pytestmark = pytest.mark.integration


@dataclass
class Reply:
    """An HTTP answer: status, headers and the JSON body."""

    status: int
    headers: dict[str, str]
    body: Any


def call(lab: Lab, method: str, path: str, body: object = None, data: bytes | None = None, **headers: str) -> Reply:
    """Send a request to the gateway; header names are given with underscores for dashes."""
    if body is not None:
        data = json.dumps(body).encode()
    request = urllib.request.Request(
        lab.gateway_url + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **{k.replace("_", "-"): v for k, v in headers.items()}},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return Reply(answer.status, dict(answer.headers), json.loads(answer.read()))
    except urllib.error.HTTPError as error:
        with error:
            return Reply(error.code, dict(error.headers), json.loads(error.read()))


class Shopper:
    """One user of the shop."""

    def __init__(self, lab: Lab, user_id: str) -> None:
        self.lab = lab
        self.user_id = user_id

    def __call__(self, method: str, path: str, body: object = None, **headers: str) -> Reply:
        return call(self.lab, method, path, body, X_User_Id=self.user_id, **headers)

    def add(self, sku: str, quantity: int = 1) -> Reply:
        """Add an item to the cart."""
        return self("POST", "/api/v1/cart/items", {"sku": sku, "quantity": quantity})

    def checkout(self, key: str) -> Reply:
        """Check the cart out under an Idempotency-Key."""
        return self("POST", "/api/v1/checkout", Idempotency_Key=key)

    def orders(self) -> list[dict[str, Any]]:
        """The user's orders."""
        return self("GET", "/api/v1/orders").body["orders"]

    def outbox(self) -> list[email_pb2.EmailMessage]:
        """The user's emails, read from the email service itself."""
        with grpc.insecure_channel(self.lab.target("email")) as channel:
            request = email_pb2.ListOutboxRequest(user_id=self.user_id)
            return list(email_pb2_grpc.EmailServiceStub(channel).ListOutbox(request, timeout=5).messages)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The whole system, with deadlines long enough that a busy test machine never degrades the happy path.

    The deadlines themselves are tested in tests/gateway, where a fake answers slowly on purpose.
    """
    deadlines = {f"PURCHASE_{name}_DEADLINE_MS": "3000" for name in ("CART", "PRICING", "EMAIL")}
    system = Lab(tmp_path_factory.mktemp("shop"), env=deadlines)
    try:
        yield system.start()
    finally:
        system.stop()


@pytest.fixture
def shopper(lab: Lab, user_id: str) -> Shopper:
    """A new user of the running lab."""
    return Shopper(lab, user_id)


@pytest.fixture(scope="module")
def products(lab: Lab) -> list[dict[str, Any]]:
    """The catalogue, as the gateway lists it."""
    reply = call(lab, "GET", "/api/v1/products")
    assert reply.status == 200
    return reply.body["products"]


def test_the_catalogue_lists_products_with_integer_prices(products: list[dict[str, Any]]) -> None:
    assert 10 <= len(products) <= 20
    for product in products:
        assert set(product) == {"sku", "name", "description", "category", "price_cents", "currency"}
        assert isinstance(product["price_cents"], int)
        assert product["price_cents"] > 0
        assert product["currency"] == "USD"


def test_a_first_checkout_with_a_promo_code_places_the_order_empties_the_cart_and_emails(
    shopper: Shopper, products: list[dict[str, Any]]
) -> None:
    first, second = products[0], products[1]
    assert shopper.add(first["sku"], 2).status == 200
    assert shopper.add(second["sku"]).status == 200
    promo = shopper("POST", "/api/v1/cart/promo", {"code": "spring15"})
    assert (promo.status, promo.body["promo_code"]) == (200, "SPRING15")
    subtotal = 2 * first["price_cents"] + second["price_cents"]

    reply = shopper.checkout("first")

    assert reply.status == 201
    order = reply.body
    assert (order["status"], order["email"], order["degraded"], order["replayed"]) == ("placed", "sent", [], False)
    assert [(line["sku"], line["quantity"]) for line in order["lines"]] == [(first["sku"], 2), (second["sku"], 1)]
    # The best discount wins: 15% with the code beats 10% off a first order.
    assert order["subtotal_cents"] == subtotal
    assert order["adjustment_cents"] == (subtotal * 15 + 50) // 100
    assert order["adjustment_reason"] == "15% off with code SPRING15"
    assert order["total_cents"] == subtotal - order["adjustment_cents"]
    assert [o["order_id"] for o in shopper.orders()] == [order["order_id"]]
    assert shopper("GET", "/api/v1/cart").body["lines"] == []
    emails = {(m.kind, m.order_id, m.to) for m in shopper.outbox()}
    assert emails == {
        (email_pb2.EMAIL_KIND_ORDER_CONFIRMATION, order["order_id"], f"{shopper.user_id}@example.com"),
        (email_pb2.EMAIL_KIND_DISCOUNT, order["order_id"], f"{shopper.user_id}@example.com"),
    }


def test_repeating_a_checkout_returns_the_same_order_and_sends_nothing_new(
    shopper: Shopper, products: list[dict[str, Any]]
) -> None:
    shopper.add(products[2]["sku"])
    placed = shopper.checkout("same-key").body

    again = shopper.checkout("same-key")

    assert again.status == 200
    assert again.body == {**placed, "replayed": True}
    assert len(shopper.orders()) == 1
    assert len(shopper.outbox()) == len({m.kind for m in shopper.outbox()})


def test_ten_concurrent_checkouts_with_one_key_place_exactly_one_order(
    shopper: Shopper, products: list[dict[str, Any]]
) -> None:
    shopper.add(products[3]["sku"], 3)

    with ThreadPoolExecutor(max_workers=10) as pool:
        replies = list(pool.map(lambda _: shopper.checkout("raced"), range(10)))

    assert sorted(reply.status for reply in replies) == [200] * 9 + [201]
    assert len({reply.body["order_id"] for reply in replies}) == 1
    assert len(shopper.orders()) == 1


def test_a_later_order_without_a_code_has_no_discount(shopper: Shopper, products: list[dict[str, Any]]) -> None:
    shopper.add(products[0]["sku"])
    shopper.checkout("one")
    shopper.add(products[0]["sku"])

    order = shopper.checkout("two").body

    assert (order["adjustment_cents"], order["total_cents"]) == (0, products[0]["price_cents"])
    assert [o["order_id"] for o in shopper.orders()][:1] == [order["order_id"]]


def test_removing_an_item(shopper: Shopper, products: list[dict[str, Any]]) -> None:
    shopper.add(products[0]["sku"])
    shopper.add(products[1]["sku"])

    reply = shopper("DELETE", f"/api/v1/cart/items/{products[0]['sku']}")

    assert reply.status == 200
    assert [line["sku"] for line in reply.body["lines"]] == [products[1]["sku"]]


ERRORS = [
    # (method, path, body, which headers, status, code, words in the message)
    ("GET", "/api/v1/cart", None, "none", 400, "missing_header", "X-User-Id header is missing"),
    ("POST", "/api/v1/cart/items", b"{oops", "user", 400, "invalid_json", "not valid JSON"),
    ("POST", "/api/v1/cart/items", {"quantity": 1}, "user", 400, "missing_field", "has no 'sku'"),
    ("POST", "/api/v1/checkout", None, "user", 400, "missing_header", "Idempotency-Key header is missing"),
    ("POST", "/api/v1/cart/items", {"sku": "NOPE-0", "quantity": 1}, "user", 404, "unknown_sku", "'NOPE-0'"),
    ("DELETE", "/api/v1/cart/items/NOPE-0", None, "user", 404, "not_in_cart", "not in your cart"),
    ("GET", "/api/v1/nowhere", None, "none", 404, "not_found", "there is no GET /api/v1/nowhere"),
    ("DELETE", "/api/v1/cart", None, "user", 405, "method_not_allowed", "use GET"),
    ("POST", "/api/v1/checkout", None, "checkout", 409, "cart_empty", "your cart is empty"),
    ("POST", "/api/v1/cart/items", b"x" * 17000, "user", 413, "body_too_large", "larger than 16384 bytes"),
    ("POST", "/api/v1/cart/items", {"sku": "COF-ETH-250", "quantity": 0}, "user", 422, "invalid_value", "1 to 99"),
    ("POST", "/api/v1/cart/items", {"sku": "COF-ETH-250", "quantity": 100}, "user", 422, "invalid_value", "1 to 99"),
    ("POST", "/api/v1/cart/promo", {"code": "FREESTUFF"}, "user", 422, "unknown_promo_code", "'FREESTUFF'"),
]


@pytest.mark.parametrize(("method", "path", "body", "headers", "status", "code", "words"), ERRORS)
def test_every_api_error_is_json_with_its_status_and_a_message(
    lab: Lab, user_id: str, method: str, path: str, body: object, headers: str, status: int, code: str, words: str
) -> None:
    named = {"user": {"X_User_Id": user_id}, "checkout": {"X_User_Id": user_id, "Idempotency_Key": "k"}}
    raw = body if isinstance(body, bytes) else None

    reply = call(lab, method, path, None if raw else body, raw, **named.get(headers, {}))

    assert reply.status == status
    assert reply.headers["Content-Type"] == "application/json"
    error = reply.body["error"]
    assert (error["code"], error["retryable"]) == (code, False)
    assert words in error["message"]


@pytest.fixture
def stopped(lab: Lab) -> Iterator[Callable[[str], None]]:
    """Stop a service for one test; it is started again, and healthy, afterwards."""
    names: list[str] = []

    def stop(name: str) -> None:
        lab.processes[name].stop()
        names.append(name)

    yield stop
    lab.start(*names)


def test_a_stopped_dependency_is_a_503_naming_it_until_it_returns(lab: Lab, stopped) -> None:
    stopped("pricing")

    reply = call(lab, "GET", "/api/v1/products")

    assert reply.status == 503
    assert reply.headers["Retry-After"] == "1"
    assert reply.body["error"]["dependency"] == "pricing"
    assert reply.body["error"]["retryable"] is True
    lab.start("pricing")
    wait_until(lambda: call(lab, "GET", "/api/v1/products").status == 200, "gateway using pricing again", timeout=5)


def test_with_email_stopped_the_order_stands_and_its_emails_arrive_when_email_returns(
    lab: Lab, shopper: Shopper, products: list[dict[str, Any]], stopped
) -> None:
    shopper.add(products[0]["sku"])
    stopped("email")

    reply = shopper.checkout(f"k-{uuid.uuid4().hex}")

    assert reply.status == 201
    assert (reply.body["email"], reply.body["degraded"][0]["fallback"]) == ("queued", "queued")
    lab.start("email")
    wait_until(lambda: len(shopper.outbox()) == 2, "queued emails delivered", timeout=10)
    assert {m.order_id for m in shopper.outbox()} == {reply.body["order_id"]}
