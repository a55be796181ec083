"""One request is one trace: Flask -> gRPC client -> gRPC server -> Redis, linked parent to child, with
the user's flag variant, the injected fault and the fallback recorded as `purchase.*` attributes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask.testing import FlaskClient
from opentelemetry.trace import SpanKind, StatusCode

from purchase_lab.faults.rules import new_rule
from purchase_lab.flags import FeatureFlags, seed_live_file
from purchase_lab.telemetry.hooks import flag_hooks
from purchase_lab.telemetry.instrument import instrument_redis
from tests.conftest import Lab
from tests.telemetry.conftest import Recorded
from tests.telemetry.shop import GET_ADJUSTMENT, Pricing, create_shop, start_pricing

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    lab = Lab(tmp_path_factory.mktemp("telemetry-redis")).start("redis")
    yield lab.redis_url
    lab.stop()


@pytest.fixture
def store(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.set("discount:ada", "loyal customer")
    yield client
    client.close()


@pytest.fixture
def flags(tmp_path: Path) -> Iterator[FeatureFlags]:
    path = tmp_path / "flags.json"
    seed_live_file(path)
    evaluator = FeatureFlags.start(path)
    yield evaluator
    evaluator.stop()


@pytest.fixture
def pricing(recorded: Recorded, store: redis.Redis) -> Iterator[Pricing]:
    instrument_redis(recorded.telemetry)
    running = start_pricing(recorded.telemetry, store)
    yield running
    running.stop()


@pytest.fixture
def shop(recorded: Recorded, pricing: Pricing, flags: FeatureFlags) -> FlaskClient:
    flags.client.add_hooks(flag_hooks(recorded.telemetry.metrics))
    return create_shop(recorded.telemetry, pricing, flags).test_client()


def test_one_checkout_is_one_trace_from_http_to_redis(recorded: Recorded, shop: FlaskClient) -> None:
    answer = shop.post("/checkout", headers={"X-User-Id": "ada"})

    assert answer.json == {"discount": "loyal customer"}
    http = recorded.span("POST /checkout")
    client = next(s for s in recorded.spans() if s.name == GET_ADJUSTMENT and s.kind == SpanKind.CLIENT)
    server = next(s for s in recorded.spans() if s.name == GET_ADJUSTMENT and s.kind == SpanKind.SERVER)
    redis_get = recorded.span("GET")
    assert {s.context.trace_id for s in (http, client, server, redis_get)} == {http.context.trace_id}
    assert client.parent.span_id == http.context.span_id
    # The server runs on another thread: only the W3C traceparent in the call's metadata links it.
    assert server.parent.span_id == client.context.span_id
    assert server.parent.is_remote
    assert redis_get.parent.span_id == server.context.span_id
    assert redis_get.attributes["db.system"] == "redis"


def test_the_users_flag_variant_is_on_the_request_span(recorded: Recorded, shop: FlaskClient) -> None:
    shop.post("/checkout", headers={"X-User-Id": "ada"})

    http = recorded.span("POST /checkout")
    assert http.attributes["enduser.id"] == "ada"
    assert http.attributes["purchase.flag.checkout.fallbacks"] == "on"
    evaluation = next(event for event in http.events if event.name == "feature_flag.evaluation")
    assert evaluation.attributes["feature_flag.key"] == "checkout.fallbacks"
    assert evaluation.attributes["feature_flag.result.variant"] == "on"


def test_an_injected_fault_shows_on_the_span_it_hit_and_the_fallback_on_the_request(
    recorded: Recorded, shop: FlaskClient, pricing: Pricing
) -> None:
    rule = new_rule({"service": "pricing", "method": "GetAdjustment", "error": "UNAVAILABLE"})
    pricing.rules.set(rule)

    answer = shop.post("/checkout", headers={"X-User-Id": "ada"})

    assert answer.json == {"discount": "none"}
    server = next(s for s in recorded.spans() if s.name == GET_ADJUSTMENT and s.kind == SpanKind.SERVER)
    assert server.attributes["purchase.fault.id"] == rule.id
    assert server.attributes["purchase.fault.error"] == "UNAVAILABLE"
    assert server.status.status_code == StatusCode.ERROR
    http = recorded.span("POST /checkout")
    assert http.attributes["purchase.degraded"] is True
    assert http.attributes["purchase.fallback.pricing"] == "no_adjustment"
    assert [event.name for event in http.events if event.name.startswith("purchase.")] == ["purchase.degradation"]
    # The fault fired before the servicer ran: no Redis command was sent.
    assert not [s for s in recorded.spans() if s.name == "GET"]


def test_a_traceparent_from_the_caller_becomes_the_request_spans_parent(recorded: Recorded, shop: FlaskClient) -> None:
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"

    shop.post("/checkout", headers={"X-User-Id": "ada", "traceparent": f"00-{trace_id}-{parent_id}-01"})

    http = recorded.span("POST /checkout")
    assert format(http.context.trace_id, "032x") == trace_id
    assert format(http.parent.span_id, "016x") == parent_id


def test_redis_commands_outside_any_operation_are_not_traced(
    recorded: Recorded, pricing: Pricing, store: redis.Redis
) -> None:
    store.get("discount:ada")

    assert recorded.spans() == []
