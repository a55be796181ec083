"""Fixtures of the cart tests: a real Redis and a CartStore over an empty database."""

from __future__ import annotations

import pytest
import redis

from services.cart.store import CartStore


@pytest.fixture
def store(redis_client: redis.Redis) -> CartStore:
    """A store over an empty database."""
    redis_client.flushdb()
    return CartStore(redis_client)
