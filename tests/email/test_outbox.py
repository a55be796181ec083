"""The outbox against a real Redis: what is recorded, once, durably, and how it is listed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from purchase_lab.money import money
from services.email.errors import InvalidEmailRequest
from services.email.messages import EmailKind, discount_email, order_confirmation
from services.email.outbox import STREAM_KEY, Outbox, redis_client
from tests.conftest import Lab

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A real Redis, started once for this module."""
    system = Lab(tmp_path_factory.mktemp("outbox")).start("redis")
    try:
        yield system
    finally:
        system.stop()


@pytest.fixture
def client(lab: Lab) -> Iterator[redis.Redis]:
    """A client of the lab's Redis, as the email service makes it."""
    opened = redis_client(lab.redis_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def outbox(client: redis.Redis) -> Outbox:
    """The outbox in the lab's Redis."""
    return Outbox(client)


def new_order() -> str:
    """An order id no other test uses."""
    return f"ord-{uuid.uuid4().hex[:12]}"


def test_a_recorded_email_is_an_entry_in_the_stream(outbox: Outbox, client: redis.Redis) -> None:
    order_id = new_order()
    entry, duplicate = outbox.record(order_confirmation("ada@example.com", "u-ada", order_id, money(5250), 3))
    assert not duplicate
    [(message_id, fields)] = client.xrange(STREAM_KEY, min=entry.message_id, max=entry.message_id)
    assert message_id == entry.message_id
    assert fields["kind"] == "order_confirmation"
    assert (fields["to"], fields["user_id"], fields["order_id"]) == ("ada@example.com", "u-ada", order_id)
    assert fields["subject"] == f"Your order {order_id} is confirmed"


def test_a_repeat_returns_the_first_email_and_adds_nothing(outbox: Outbox, client: redis.Redis) -> None:
    order_id = new_order()
    first, _ = outbox.record(order_confirmation("ada@example.com", "u-ada", order_id, money(5250), 3))
    length = client.xlen(STREAM_KEY)
    again, duplicate = outbox.record(order_confirmation("other@example.com", "u-ada", order_id, money(1), 1))
    assert duplicate
    assert again == first
    assert client.xlen(STREAM_KEY) == length


def test_each_kind_of_email_is_recorded_once_per_order(outbox: Outbox) -> None:
    order_id = new_order()
    confirmation, _ = outbox.record(order_confirmation("ada@example.com", "u-ada", order_id, money(5250), 3))
    discount, duplicate = outbox.record(discount_email("ada@example.com", "u-ada", order_id, money(525), "why"))
    assert not duplicate
    assert discount.message_id != confirmation.message_id
    assert discount.email.kind is EmailKind.DISCOUNT


def test_a_repeat_is_recognised_after_the_stream_trimmed_the_first(client: redis.Redis) -> None:
    stream = f"test:outbox:{uuid.uuid4().hex}"
    small = Outbox(client, max_length=1, stream_key=stream)
    order_id = new_order()
    first, _ = small.record(order_confirmation("ada@example.com", "u-ada", order_id, money(100), 1))
    for _ in range(300):  # enough for an approximate trim to drop whole nodes
        small.record(order_confirmation("bob@example.com", "u-bob", new_order(), money(100), 1))
    assert client.xlen(stream) < 300
    again, duplicate = small.record(order_confirmation("ada@example.com", "u-ada", order_id, money(100), 1))
    assert (again, duplicate) == (first, True)


def test_the_outbox_survives_a_redis_restart(lab: Lab, outbox: Outbox) -> None:
    order_id = new_order()
    entry, _ = outbox.record(order_confirmation("ada@example.com", "u-durable", order_id, money(900), 2))
    lab.processes["redis"].stop()
    lab.start("redis")
    assert outbox.list(user_id="u-durable") == [entry]


def test_listing_is_newest_first_with_a_limit_and_a_user_filter(client: redis.Redis) -> None:
    outbox = Outbox(client, stream_key=f"test:outbox:{uuid.uuid4().hex}")
    recorded = [
        outbox.record(order_confirmation(f"{user}@example.com", user, new_order(), money(100), 1))[0]
        for user in ["u-a", "u-b", "u-a", "u-b", "u-a"]
    ]
    assert outbox.list() == recorded[::-1]
    assert outbox.list(limit=2) == recorded[:2:-1]
    assert outbox.list(user_id="u-a") == recorded[::-2]
    assert outbox.list(limit=1, user_id="u-b") == [recorded[3]]
    assert outbox.list(user_id="u-nobody") == []


def test_a_long_outbox_lists_100_by_default_and_filters_past_a_page(client: redis.Redis) -> None:
    outbox = Outbox(client, stream_key=f"test:outbox:{uuid.uuid4().hex}")
    wanted, _ = outbox.record(order_confirmation("ada@example.com", "u-ada", new_order(), money(100), 1))
    for _ in range(600):
        outbox.record(order_confirmation("bob@example.com", "u-bob", new_order(), money(100), 1))
    assert len(outbox.list()) == 100
    assert len(outbox.list(limit=1000)) == 601
    assert outbox.list(user_id="u-ada") == [wanted]


@pytest.mark.parametrize("limit", [-1, 1001])
def test_a_limit_outside_0_to_1000_is_refused(outbox: Outbox, limit: int) -> None:
    with pytest.raises(InvalidEmailRequest, match=rf"limit {limit} is out of range; ask for 1 to 1000 \(0 means 100\)"):
        outbox.list(limit=limit)
