"""Fixtures of the cart tests: a real Redis and a CartStore over an empty database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from services.cart.store import CartStore
from tests.conftest import Lab


@pytest.fixture(scope="module")
def redis_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redis.Redis]:
    """A real Redis server, started once per test module."""
    lab = Lab(tmp_path_factory.mktemp("cart-store")).start("redis")
    client = redis.Redis.from_url(lab.redis_url, decode_responses=True)
    try:
        yield client
    finally:
        client.close()
        lab.stop()


@pytest.fixture
def store(redis_client: redis.Redis) -> CartStore:
    """A store over an empty database."""
    redis_client.flushdb()
    return CartStore(redis_client)
