"""How the outbox pages through its stream on a real Redis: as few entries and round trips as the listing needs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from purchase_lab.money import money
from services.email.messages import order_confirmation
from services.email.outbox import Outbox, redis_client
from tests.conftest import Lab

pytestmark = pytest.mark.integration


class CountingRedis:
    """A Redis client that records the count of every XREVRANGE it sends."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self.reads: list[int | None] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def xrevrange(self, name: str, max: str = "+", min: str = "-", count: int | None = None) -> Any:
        self.reads.append(count)
        return self._client.xrevrange(name, max=max, min=min, count=count)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis, started once for this module."""
    system = Lab(tmp_path_factory.mktemp("outbox-paging")).start("redis")
    try:
        yield system.redis_url
    finally:
        system.stop()


@pytest.fixture
def counting(redis_url: str) -> Iterator[tuple[Outbox, CountingRedis]]:
    """An outbox over a stream of its own holding 3 emails of ada and 2 of bob, with its reads counted."""
    client = redis_client(redis_url)
    spy = CountingRedis(client)
    run = uuid.uuid4().hex  # the outbox remembers every (kind, order) it recorded: fresh order ids each time
    outbox = Outbox(spy, stream_key=f"test:outbox:{run}")  # type: ignore[arg-type]
    for number, user in enumerate(["ada", "bob", "ada", "bob", "ada"]):
        outbox.record(order_confirmation(f"{user}@example.com", user, f"o-{number}-{run}", money(100), 1))
    spy.reads.clear()
    yield outbox, spy
    client.close()


def test_listing_everyone_reads_only_as_many_entries_as_asked(counting: tuple[Outbox, CountingRedis]) -> None:
    outbox, spy = counting

    listed = outbox.list(limit=2)

    assert [entry.email.order_id[:3] for entry in listed] == ["o-4", "o-3"]
    assert spy.reads == [2]


def test_listing_one_user_reads_pages_of_500_until_it_has_found_enough(
    counting: tuple[Outbox, CountingRedis],
) -> None:
    outbox, spy = counting

    listed = outbox.list(limit=2, user_id="ada")

    assert [entry.email.order_id[:3] for entry in listed] == ["o-4", "o-2"]
    assert spy.reads == [500]


def test_a_listing_that_needs_every_entry_stops_at_the_end_of_the_stream(
    counting: tuple[Outbox, CountingRedis],
) -> None:
    outbox, spy = counting

    listed = outbox.list(limit=5)

    assert len(listed) == 5
    assert spy.reads == [5]


def test_a_users_emails_across_a_page_boundary_are_listed_once_each(redis_url: str) -> None:
    client = redis_client(redis_url)
    stream = f"test:outbox:{uuid.uuid4().hex}"
    outbox = Outbox(client, stream_key=stream)
    # Oldest first: two of ada's, then 499 of bob's, so ada's newer email is the last entry of the first page.
    with client.pipeline(transaction=False) as pipe:
        for order_id in ("ada-old", "ada-edge"):
            pipe.xadd(stream, {"user_id": "ada", "order_id": order_id, "kind": "order_confirmation"})
        for number in range(499):
            pipe.xadd(stream, {"user_id": "bob", "order_id": f"bob-{number}", "kind": "order_confirmation"})
        pipe.execute()

    listed = outbox.list(limit=3, user_id="ada")

    assert [entry.email.order_id for entry in listed] == ["ada-edge", "ada-old"]
    # Entries written without some fields (an older format) read as empty, never as None or made up.
    assert (listed[0].email.subject, listed[0].email.body, listed[0].email.to) == ("", "", "")
    client.close()


def test_the_outbox_client_fails_fast_on_a_redis_that_does_not_answer() -> None:
    # Without these bounds a stalled Redis would hang every Send until the caller's own deadline.
    settings = redis_client("redis://127.0.0.1:1/0").connection_pool.connection_kwargs

    assert (settings["socket_connect_timeout"], settings["socket_timeout"]) == (0.5, 1.0)
    assert settings["decode_responses"] is True
