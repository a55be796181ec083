"""The checkout table against the real processes: faults injected into cart, pricing and email, killed processes,
racing checkouts, and queued emails delivered once email is back.

The outcome of each cell is the one the functional tests expect (tests/gateway/test_checkout_table.py), so
the contract fakes and the real services are held to the same table. Faults are scoped to the test's user,
so a rule never touches another test's checkouts; the breakers never open here (see test_checkout_breaker.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis
from purchase.email.v1 import email_pb2

from purchase_lab.flags import CHECKOUT_FALLBACKS, LIVE_FILE_NAME, set_flag
from purchase_lab.health import wait_until
from services.gateway.email_queue import STREAM
from tests.conftest import FlagVariant, Lab
from tests.gateway.test_checkout_table import ELIGIBLE, OFF, ON, TABLE
from tests.integration.conftest import restore
from tests.integration.faults_lab import add, clear
from tests.integration.test_shop import Reply, Shopper, call

pytestmark = pytest.mark.integration

CONFIRMATION, DISCOUNT = email_pb2.EMAIL_KIND_ORDER_CONFIRMATION, email_pb2.EMAIL_KIND_DISCOUNT
# The cart every test checks out: two coffees and a dripper, at catalogue prices.
CART = (("COF-ETH-250", 2), ("BRW-V60-02", 1))
# Where each failing call of the table lives.
SERVICE_OF = {"GetCart": "cart", "UpdateCart": "cart", "PlaceOrder": "cart", "GetAdjustment": "pricing"}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The whole system; deadlines long enough for a busy machine, breakers that never open in this module."""
    env = {
        **{f"PURCHASE_{name}_DEADLINE_MS": "3000" for name in ("CART", "PRICING", "EMAIL")},
        "PURCHASE_CHECKOUT_BUDGET_MS": "10000",
        "PURCHASE_BREAKER_FAILURES": "10000",
    }
    system = Lab(tmp_path_factory.mktemp("checkout"), env=env)
    try:
        yield system.start()
    finally:
        system.stop()


@pytest.fixture(autouse=True)
def lab_as_committed(lab: Lab, flags_path: Path) -> Iterator[None]:
    """Every test leaves the lab with its flags as committed, no fault rules, and every process running."""
    yield
    restore(lab)


@pytest.fixture(scope="module")
def prices(lab: Lab) -> dict[str, dict[str, Any]]:
    """The catalogue by SKU, as the gateway lists it."""
    return {product["sku"]: product for product in call(lab, "GET", "/api/v1/products").body["products"]}


def use_fallbacks(lab: Lab, on: bool) -> None:
    """Switch the checkout's column for everyone, and wait until the gateway serves it."""
    set_flag(CHECKOUT_FALLBACKS, on, Path(lab.env["PURCHASE_CONTROL_DIR"]) / LIVE_FILE_NAME)
    wait_until(lambda: fallbacks_served(lab) is on, f"the gateway serving {CHECKOUT_FALLBACKS}={on}", timeout=3)


def fallbacks_served(lab: Lab) -> bool:
    """checkout.fallbacks as the gateway evaluates it for a user."""
    reply = call(lab, "GET", "/api/v1/admin/flags/evaluate?user_id=anyone", Authorization=f"Bearer {lab.admin_token}")
    return reply.body["flags"][CHECKOUT_FALLBACKS]


class Customer(Shopper):
    """A shopper with a filled cart, and the order they placed before, if any."""

    earlier_order: str | None = None

    def new_orders(self) -> list[dict[str, Any]]:
        """The user's orders, newest first, but the earlier one."""
        return [order for order in self.orders() if order["order_id"] != self.earlier_order]

    def new_emails(self) -> list[email_pb2.EmailMessage]:
        """The user's emails but those of the earlier order."""
        return [message for message in self.outbox() if message.order_id != self.earlier_order]

    def emails(self, order_id: str) -> list[int]:
        """The kinds of the emails the email service recorded for an order."""
        return sorted(message.kind for message in self.outbox() if message.order_id == order_id)


def shopper_with_cart(lab: Lab, eligible: bool) -> Customer:
    """A new user with the cart filled: a first order (eligible), or a returning customer's (not eligible)."""
    customer = Customer(lab, f"u-{uuid.uuid4().hex[:12]}")
    if not eligible:
        assert customer.add("TEA-SEN-100").status == 200
        earlier = customer.checkout("earlier")
        assert earlier.status == 201
        customer.earlier_order = earlier.body["order_id"]
    for sku, quantity in CART:
        assert customer.add(sku, quantity).status == 200
    return customer


def expected_order(prices: dict[str, dict[str, Any]], eligible: bool) -> dict[str, Any]:
    """The order the cart places, as the gateway answers it, without id and time."""
    lines = [
        {
            "sku": sku,
            "name": prices[sku]["name"],
            "quantity": quantity,
            "unit_price_cents": prices[sku]["price_cents"],
            "line_total_cents": prices[sku]["price_cents"] * quantity,
        }
        for sku, quantity in CART
    ]
    subtotal = sum(line["line_total_cents"] for line in lines)
    adjustment = (subtotal * 10 + 50) // 100 if eligible else 0
    return {
        "status": "placed",
        "lines": lines,
        "subtotal_cents": subtotal,
        "adjustment_cents": adjustment,
        "adjustment_reason": "10% off your first order" if eligible else "",
        "total_cents": subtotal - adjustment,
        "currency": "USD",
        "promo_code": "",
    }


def assert_cell(shopper: Customer, reply: Reply, outcome: str, order: dict[str, Any]) -> None:
    """What the client got, and what the real services hold, for one outcome of the table."""
    eligible = order["adjustment_cents"] > 0
    wanted_emails = [CONFIRMATION, DISCOUNT] if eligible else [CONFIRMATION]
    if outcome.startswith("placed") or outcome == "queued":
        assert reply.status == 201
        body = dict(reply.body)
        order_id = body.pop("order_id")
        assert body.pop("created_at").endswith("Z")
        degraded = {
            "placed": [],
            "placed without a discount": [
                {"dependency": "pricing", "fallback": "no_adjustment", "error": "UNAVAILABLE"}
            ],
            "queued": [{"dependency": "email", "fallback": "queued", "error": "UNAVAILABLE"}],
        }[outcome]
        email = "queued" if outcome == "queued" else "sent"
        assert body == {**order, "email": email, "degraded": degraded, "replayed": False}
        assert [o["order_id"] for o in shopper.new_orders()] == [order_id]
        assert shopper("GET", "/api/v1/cart").body["lines"] == []
        if outcome != "queued":
            assert shopper.emails(order_id) == wanted_emails
        return
    assert reply.status == 503
    assert reply.headers["Retry-After"] == "1"
    assert reply.body["error"]["retryable"] is True
    if outcome == "cancelled":
        [cancelled] = shopper.new_orders()
        assert reply.body["error"]["code"] == "order_cancelled"
        assert reply.body["error"]["order_id"] == cancelled["order_id"]
        assert cancelled["status"] == "cancelled"
    else:
        assert reply.body["error"]["code"] == "dependency_unavailable"
        assert reply.body["error"]["dependency"] == ("cart" if outcome.startswith("cart") else "pricing")
        assert shopper.new_orders() == []
    assert [(line["sku"], line["quantity"]) for line in shopper("GET", "/api/v1/cart").body["lines"]] == list(CART)


ROWS = sorted({(failing, eligibility) for failing, _column, eligibility in TABLE}, key=str)


@pytest.mark.parametrize(("failing", "eligibility"), ROWS, ids=["-".join(row) for row in ROWS])
def test_each_row_of_the_checkout_table_with_fallbacks_off_and_on(
    lab: Lab, flag_variants: FlagVariant, prices: dict[str, dict[str, Any]], failing: str, eligibility: str
) -> None:
    on = flag_variants.apply(CHECKOUT_FALLBACKS)
    wait_until(lambda: fallbacks_served(lab) is on, "the gateway serving the flag", timeout=3)
    outcome, _calls = TABLE[failing, ON if on else OFF, eligibility]
    shopper = shopper_with_cart(lab, eligibility == ELIGIBLE)
    if failing == "email":
        add(lab, service="email", error="UNAVAILABLE", user=shopper.user_id)
    elif failing != "nothing":
        add(lab, service=SERVICE_OF[failing], method=failing, error="UNAVAILABLE", user=shopper.user_id)

    reply = shopper.checkout("the-key")

    if failing != "nothing":
        clear(lab)  # so that the cart, the orders and the outbox can be read
    assert_cell(shopper, reply, outcome, expected_order(prices, eligibility == ELIGIBLE))


def test_a_killed_pricing_costs_only_the_users_owed_a_discount_when_fallbacks_are_on(lab: Lab) -> None:
    owed, not_owed, original = (shopper_with_cart(lab, eligible) for eligible in (True, False, False))
    lab.processes["pricing"].kill()

    retry = owed.checkout("k")
    degraded = not_owed.checkout("k")
    use_fallbacks(lab, False)
    failed = original.checkout("k")

    assert (retry.status, retry.body["error"]["dependency"]) == (503, "pricing")
    assert "you are eligible for a discount; please try again" in retry.body["error"]["message"]
    assert (degraded.status, degraded.body["degraded"][0]["fallback"]) == (201, "no_adjustment")
    assert (failed.status, failed.body["error"]["dependency"]) == (503, "pricing")
    lab.start("pricing")
    wait_until(lambda: owed.checkout("k2").status == 201, "the checkout using pricing again", timeout=5)
    assert owed.new_orders()[0]["adjustment_reason"] == "10% off your first order"


def test_a_killed_cart_fails_every_checkout_with_a_503_naming_cart(lab: Lab) -> None:
    shopper = shopper_with_cart(lab, eligible=True)
    lab.processes["cart"].kill()

    replies = [shopper.checkout("k")]
    use_fallbacks(lab, False)
    replies.append(shopper.checkout("k"))

    assert [(reply.status, reply.body["error"]["dependency"]) for reply in replies] == [(503, "cart")] * 2
    lab.start("cart")
    wait_until(lambda: shopper.checkout("k").status == 201, "the checkout using cart again", timeout=5)
    assert len(shopper.new_orders()) == 1


def test_a_killed_email_queues_with_fallbacks_on_cancels_with_them_off_and_delivers_when_back(lab: Lab) -> None:
    resilient, original = shopper_with_cart(lab, eligible=True), shopper_with_cart(lab, eligible=True)
    lab.processes["email"].kill()

    queued = resilient.checkout("k")
    use_fallbacks(lab, False)
    cancelled = original.checkout("k")
    lab.start("email")

    assert (queued.status, queued.body["email"]) == (201, "queued")
    assert (cancelled.status, cancelled.body["error"]["code"]) == (503, "order_cancelled")
    wait_until(lambda: len(resilient.outbox()) == 2, "the queued emails delivered", timeout=10)
    assert resilient.emails(queued.body["order_id"]) == [CONFIRMATION, DISCOUNT]
    assert original.outbox() == []


def test_email_down_for_many_checkouts_delivers_every_email_exactly_once_when_it_is_back(lab: Lab) -> None:
    shoppers = [shopper_with_cart(lab, eligible) for eligible in (True, False, True, False, True, False)]
    add(lab, service="email", error="UNAVAILABLE")

    with ThreadPoolExecutor(max_workers=3) as pool:
        replies = list(pool.map(lambda shopper: shopper.checkout("k"), shoppers))
    clear(lab)

    assert [(reply.status, reply.body["email"]) for reply in replies] == [(201, "queued")] * 6
    expected = sorted((reply.body["order_id"], kind) for reply in replies for kind in emails_of(reply))

    def delivered() -> list[tuple[str, int]]:
        return sorted((message.order_id, message.kind) for shopper in shoppers for message in shopper.new_emails())

    wait_until(lambda: len(delivered()) >= len(expected), "every queued email delivered", timeout=15)
    assert delivered() == expected  # nine emails, none twice
    with redis.Redis.from_url(lab.redis_url) as client:
        wait_until(lambda: client.xlen(STREAM) == 0, "the queue drained", timeout=5)


def emails_of(reply: Reply) -> list[int]:
    """The emails a placed order sends: a confirmation, and a discount email when it had a discount."""
    return [CONFIRMATION] + [DISCOUNT] * (reply.body["adjustment_cents"] > 0)


def test_racing_checkouts_of_one_cart_place_exactly_one_order(lab: Lab, flag_variants: FlagVariant) -> None:
    on = flag_variants.apply(CHECKOUT_FALLBACKS)
    wait_until(lambda: fallbacks_served(lab) is on, "the gateway serving the flag", timeout=3)
    shopper = shopper_with_cart(lab, eligible=True)
    keys = ["one", "two"] * 5

    with ThreadPoolExecutor(max_workers=10) as pool:
        replies = list(pool.map(shopper.checkout, keys))

    [winner] = [key for key, reply in zip(keys, replies, strict=True) if reply.status == 201]
    for key, reply in zip(keys, replies, strict=True):
        if key == winner:
            assert reply.status in (200, 201)
            assert reply.body["order_id"] == shopper.new_orders()[0]["order_id"]
        else:
            assert (reply.status, reply.body["error"]["code"]) in ((409, "cart_empty"), (409, "cart_changed"))
    assert len(shopper.new_orders()) == 1
    assert len(shopper.outbox()) == 2
