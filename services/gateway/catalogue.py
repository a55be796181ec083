"""The last good catalogue: pricing's products as it last answered, so carts still fill while it is down.

The catalogue is a soft dependency of adding to the cart (step 0 of docs/checkout.md). Every time
pricing answers for a product (an item added, or the product list), the gateway keeps that answer in
Redis, shared by every worker and kept across restarts. When pricing fails, adding to the cart uses
the kept copy and says so: `"stale": true` and a `degraded` entry naming pricing and the
`last_good_catalogue` fallback. A product pricing never described cannot be added that way, so that
call still fails with pricing's error. The product list itself stays hard: it shows pricing as it is.

Nothing is charged wrongly because of it: prices change only with a pricing release, and the
checkout asks pricing again at step 2 (GetAdjustment prices the items from pricing's own catalogue).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import redis
from flask import Flask, current_app
from purchase.pricing.v1 import pricing_pb2

from purchase_lab.breaker import BreakerOpen, CircuitBreaker
from services.gateway.downstreams import failure_reason
from services.gateway.errors import DependencyError

log = logging.getLogger(__name__)

KEY = "purchase:gateway:catalogue"
EXTENSION = "purchase_catalogue"
# After Redis fails once, the catalogue leaves it alone this long, so an outage costs the shop one timeout.
PAUSE_S = 5.0
FALLBACK = "last_good_catalogue"


class LastGoodCatalogue:
    """Products as pricing last described them, by SKU, in one Redis hash."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._breaker = CircuitBreaker("last good catalogue", failure_threshold=1, open_seconds=PAUSE_S)

    def keep(self, products: Iterable[pricing_pb2.Product]) -> None:
        """Remember pricing's answer; a Redis failure only means the next outage has less to fall back on."""
        mapping = {product.sku: product.SerializeToString() for product in products}
        if not mapping:
            return
        try:
            self._breaker.before_call()
            self.client.hset(KEY, mapping=mapping)
        except BreakerOpen:
            return
        except redis.RedisError as error:
            self._breaker.record_failure()
            log.warning("the last good catalogue was not updated (next try in %.0f s): %s", PAUSE_S, error)
            return
        self._breaker.record_success()

    def product(self, sku: str) -> pricing_pb2.Product | None:
        """The kept product with this SKU, or None when there is none (or Redis does not answer)."""
        try:
            self._breaker.before_call()
            raw = self.client.hget(KEY, sku)
        except BreakerOpen:
            return None
        except redis.RedisError:
            self._breaker.record_failure()
            return None
        self._breaker.record_success()
        return pricing_pb2.Product.FromString(raw) if raw else None


def stale_marker(error: DependencyError) -> dict[str, Any]:
    """The fields an answer built from the kept catalogue carries: stale, and why."""
    degradation = {"dependency": "pricing", "fallback": FALLBACK, "error": failure_reason(error)}
    return {"stale": True, "degraded": [degradation]}


def init_app(app: Flask, client: redis.Redis) -> None:
    """Keep the last good catalogue in the Redis client's database for this app."""
    app.extensions[EXTENSION] = LastGoodCatalogue(client)


def last_good_catalogue() -> LastGoodCatalogue:
    """The last good catalogue of the app serving the current request."""
    return current_app.extensions[EXTENSION]
