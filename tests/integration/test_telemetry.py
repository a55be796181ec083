"""Telemetry of the real processes: one checkout is one trace across every hop, faults show on their spans,
metrics move on every endpoint, and JSON log lines carry the trace id.

The processes export their spans over OTLP to a receiver this test runs (tests/telemetry/receiver.py), and
every checkout sends a W3C traceparent, so the test knows the id of the trace each checkout must join.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from purchase_lab.faults import FaultStore
from purchase_lab.health import wait_until
from tests.conftest import Lab
from tests.integration.test_shop import Reply, Shopper
from tests.telemetry.receiver import CLIENT, SERVER, STATUS_ERROR, SpanReceiver, has, linked, one
from tests.telemetry.scrape import Scrape, scrape

pytestmark = pytest.mark.integration

SERVICES = ("gateway", "cart", "pricing", "email")
SKU = "COF-ETH-250"
RPC_COUNT = "purchase_rpc_server_duration_seconds_count"
DEPENDENCY_CALLS = "purchase_dependency_calls_total"
FALLBACKS = "purchase_dependency_fallbacks_total"
CHECKOUTS = "purchase_checkouts_total"
FLAG_EVALUATIONS = "purchase_flag_evaluations_total"
CHECKOUT = ("gateway", "POST /api/v1/checkout", SERVER)
# A call to each service that one checkout of a first order makes (it gets a discount: pricing answers).
HOPS = (("cart", "PlaceOrder"), ("pricing", "GetAdjustment"), ("email", "SendOrderConfirmation"))
GET_ADJUSTMENT = "/purchase.pricing.v1.PricingService/GetAdjustment"
SEND_CONFIRMATION = "/purchase.email.v1.EmailService/SendOrderConfirmation"


@pytest.fixture(scope="module")
def receiver() -> Iterator[SpanReceiver]:
    """The OTLP receiver every process of the lab sends its spans to."""
    running = SpanReceiver().start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, receiver: SpanReceiver) -> Iterator[Lab]:
    """The whole system exporting spans to the receiver and logging JSON; long deadlines for a busy machine."""
    deadlines = {f"PURCHASE_{name}_DEADLINE_MS": "3000" for name in ("CART", "PRICING", "EMAIL")}
    system = Lab(tmp_path_factory.mktemp("telemetry"), env={**receiver.env, **deadlines, "PURCHASE_LOG_FORMAT": "json"})
    try:
        yield system.start()
    finally:
        system.stop()


@pytest.fixture
def faults(lab: Lab) -> Iterator[Callable[..., str]]:
    """Add a fault rule and wait until every process follows it; every rule is removed after the test."""
    store = FaultStore(Path(lab.env["PURCHASE_CONTROL_DIR"]))

    def add(**fields: object) -> str:
        rule = store.add_rule(**fields)
        follow_rules(lab, store)
        return rule.id

    yield add
    store.reset()
    follow_rules(lab, store)


def follow_rules(lab: Lab, store: FaultStore) -> None:
    """Wait until each service has logged that it follows the rules now in the file."""
    expected = "fault rules active: " + (", ".join(rule.id for rule in store.list_rules()) or "none")

    def followed(name: str) -> bool:
        said = [entry["message"] for entry in log_entries(lab, name) if entry["message"].startswith("fault rules")]
        return bool(said) and said[-1] == expected

    wait_until(lambda: all(followed(name) for name in SERVICES), expected, timeout=5)


def log_entries(lab: Lab, name: str) -> list[dict[str, Any]]:
    """The JSON log lines of a process, parsed (its other lines, a library's own, are skipped)."""
    return [json.loads(line) for line in lab.logs(name).splitlines() if line.startswith("{")]


def new_shopper(lab: Lab, returning: bool = False) -> Shopper:
    """A new user with an item in the cart; a returning one has an order already, so is owed no discount."""
    shopper = Shopper(lab, f"u-{uuid.uuid4().hex[:12]}")
    if returning:
        assert shopper.add(SKU).status == 200
        assert shopper.checkout(f"first-{shopper.user_id}").status == 201
    assert shopper.add(SKU).status == 200
    return shopper


def traced_checkout(shopper: Shopper) -> tuple[Reply, str, str]:
    """Check out under a traceparent of our own: the reply, the trace id and the id of the caller's span."""
    trace_id, parent_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    reply = shopper(
        "POST", "/api/v1/checkout", Idempotency_Key=uuid.uuid4().hex, traceparent=f"00-{trace_id}-{parent_id}-01"
    )
    return reply, trace_id, parent_id


def scrape_all(lab: Lab) -> dict[str, Scrape]:
    """Every process's /metrics, parsed."""
    return {name: scrape(lab.metrics_url(name)) for name in SERVICES}


def moved(before: dict[str, Scrape], after: dict[str, Scrape], name: str, metric: str, **labels: str) -> float:
    """How much a metric of one process moved between two scrapes."""
    return after[name].value(metric, **labels) - before[name].value(metric, **labels)


def test_one_checkout_is_one_trace_across_every_service_and_redis(lab: Lab, receiver: SpanReceiver) -> None:
    reply, trace_id, caller = traced_checkout(new_shopper(lab))

    assert reply.status == 201
    # A service exports a call's span after the Redis commands under it: once the span is in, they are.
    hops = [(name, f"/purchase.{name}.v1.{name.title()}Service/{method}", SERVER) for name, method in HOPS]
    complete, holds = has(CHECKOUT, *hops), linked(caller)
    spans = receiver.wait_for_trace(trace_id, lambda spans: complete(spans) and holds(spans))
    assert {span.service for span in spans} == set(SERVICES)
    root = one(spans, *CHECKOUT)
    assert root.parent_id == caller
    by_id = {span.span_id: span for span in spans}
    for served in (span for span in spans if span.kind == SERVER and span is not root):
        call = by_id[served.parent_id]
        assert (call.service, call.kind, call.name) == ("gateway", CLIENT, served.name)
        assert by_id[call.parent_id] is root
    commands = [span for span in spans if span.attributes.get("db.system") == "redis" and span.service != "gateway"]
    assert {span.service for span in commands} == {"cart", "email"}
    assert {by_id[span.parent_id].kind for span in commands} == {SERVER}


def test_the_users_flag_variants_are_on_the_request_span(lab: Lab, receiver: SpanReceiver) -> None:
    _reply, trace_id, _caller = traced_checkout(new_shopper(lab))

    spans = receiver.wait_for_trace(trace_id, has(CHECKOUT))
    root = one(spans, *CHECKOUT)
    assert root.attributes["purchase.flag.checkout.fallbacks"] == "on"
    assert "feature_flag.evaluation" in [name for name, _attributes in root.events]


def test_a_server_side_fault_shows_on_the_span_it_hit(
    lab: Lab, receiver: SpanReceiver, faults: Callable[..., str]
) -> None:
    shopper = new_shopper(lab, returning=True)
    rule = faults(service="pricing", method="GetAdjustment", error="INTERNAL", user=shopper.user_id)

    reply, trace_id, _caller = traced_checkout(shopper)

    assert reply.status == 201
    spans = receiver.wait_for_trace(trace_id, has(("pricing", GET_ADJUSTMENT, SERVER), CHECKOUT))
    hit = one(spans, "pricing", GET_ADJUSTMENT, SERVER)
    assert (hit.attributes["purchase.fault.id"], hit.attributes["purchase.fault.error"]) == (rule, "INTERNAL")
    assert hit.attributes["purchase.fault.side"] == "server"
    assert hit.status == STATUS_ERROR
    assert "purchase.fault.injected" in [name for name, _attributes in hit.events]
    assert one(spans, "gateway", GET_ADJUSTMENT, CLIENT).status == STATUS_ERROR


def test_a_client_side_fault_shows_on_the_gateways_call_span(
    lab: Lab, receiver: SpanReceiver, faults: Callable[..., str]
) -> None:
    shopper = new_shopper(lab, returning=True)
    rule = faults(
        service="email", side="client", method="SendOrderConfirmation", error="UNAVAILABLE", user=shopper.user_id
    )

    reply, trace_id, _caller = traced_checkout(shopper)

    assert (reply.status, reply.body["email"]) == (201, "queued")
    spans = receiver.wait_for_trace(trace_id, has(("gateway", SEND_CONFIRMATION, CLIENT)))
    call = one(spans, "gateway", SEND_CONFIRMATION, CLIENT)
    assert (call.attributes["purchase.fault.id"], call.attributes["purchase.fault.side"]) == (rule, "client")
    assert call.status == STATUS_ERROR
    # The call never left the gateway: the email service saw nothing of this trace.
    assert not [span for span in spans if span.service == "email"]


def test_a_fault_on_every_gateway_path_spares_metrics_and_shows_on_the_request_span(
    lab: Lab, receiver: SpanReceiver, faults: Callable[..., str]
) -> None:
    before = scrape_all(lab)
    rule = faults(service="gateway", error=503)

    trace_id, caller = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    reply = Shopper(lab, "u-anyone")("GET", "/api/v1/products", traceparent=f"00-{trace_id}-{caller}-01")

    assert reply.status == 503
    after = scrape_all(lab)  # /metrics itself is never faulted
    injected = {"service": "gateway", "side": "server", "method": "http", "error": "503"}
    assert moved(before, after, "gateway", "purchase_faults_injected_total", **injected) == 1
    spans = receiver.wait_for_trace(trace_id, has(("gateway", "GET /api/v1/products", SERVER)))
    request = one(spans, "gateway", "GET /api/v1/products", SERVER)
    assert (request.attributes["purchase.fault.id"], request.attributes["http.response.status_code"]) == (rule, 503)


def test_every_metrics_endpoint_parses_and_names_its_service(lab: Lab) -> None:
    scrapes = scrape_all(lab)

    for name, found in scrapes.items():
        assert found.value("target_info", service_name=name) >= 1, f"{name}'s /metrics does not name it"
        assert found.value("process_resident_memory_bytes") > 0


def test_a_successful_checkout_moves_the_rpc_http_flag_dependency_and_checkout_metrics(lab: Lab) -> None:
    shopper = new_shopper(lab)
    before = scrape_all(lab)

    reply, _trace, _caller = traced_checkout(shopper)

    assert reply.status == 201
    after = scrape_all(lab)
    for name, method in HOPS:
        assert moved(before, after, name, RPC_COUNT, rpc_method=method, rpc_response_status_code="OK") == 1, name
        assert moved(before, after, "gateway", DEPENDENCY_CALLS, dependency=name, method=method, outcome="ok") == 1
    route = {"http_route": "/api/v1/checkout", "http_response_status_code": "201"}
    assert moved(before, after, "gateway", "http_server_request_duration_seconds_count", **route) == 1
    assert moved(before, after, "gateway", CHECKOUTS, result="placed", fallbacks="on") == 1
    assert moved(before, after, "gateway", FLAG_EVALUATIONS, flag="checkout.fallbacks", variant="on") >= 1
    assert after["gateway"].value("purchase_flag_rollout_percent", flag="pricing.loyalty_discount") == 0


def test_a_fallback_is_counted_with_the_fault_and_the_failed_rpc(lab: Lab, faults: Callable[..., str]) -> None:
    shopper = new_shopper(lab, returning=True)
    faults(service="pricing", method="GetAdjustment", error="INTERNAL", user=shopper.user_id)
    before = scrape_all(lab)

    reply, _trace, _caller = traced_checkout(shopper)

    assert reply.status == 201
    assert [entry["dependency"] for entry in reply.body["degraded"]] == ["pricing"]
    after = scrape_all(lab)
    assert moved(before, after, "gateway", FALLBACKS, dependency="pricing", cause="error") == 1
    assert moved(before, after, "gateway", DEPENDENCY_CALLS, dependency="pricing", outcome="error") == 1
    assert moved(before, after, "gateway", CHECKOUTS, result="degraded") == 1
    assert (
        moved(before, after, "pricing", RPC_COUNT, rpc_method="GetAdjustment", rpc_response_status_code="INTERNAL") == 1
    )
    injected = {"service": "pricing", "side": "server", "method": "GetAdjustment", "error": "INTERNAL"}
    assert moved(before, after, "pricing", "purchase_faults_injected_total", **injected) == 1


def test_log_lines_carry_the_trace_and_span_ids(lab: Lab, receiver: SpanReceiver, faults: Callable[..., str]) -> None:
    shopper = new_shopper(lab, returning=True)
    rule = faults(service="pricing", method="GetAdjustment", error="INTERNAL", user=shopper.user_id)

    _reply, trace_id, _caller = traced_checkout(shopper)

    spans = receiver.wait_for_trace(trace_id, has(("pricing", GET_ADJUSTMENT, SERVER)))
    fired = [entry for entry in log_entries(lab, "pricing") if entry["message"].startswith(f"fault {rule} fired")]
    assert [(entry["trace_id"], entry["span_id"]) for entry in fired] == [
        (trace_id, one(spans, "pricing", GET_ADJUSTMENT, SERVER).span_id)
    ]
    assert [
        entry
        for entry in log_entries(lab, "gateway")
        if entry.get("trace_id") == trace_id and entry["level"] == "WARNING"
    ]


def test_every_line_a_service_logs_is_json(lab: Lab) -> None:
    for name in SERVICES:
        lines = [line for line in lab.logs(name).splitlines() if line.strip()]
        assert lines
        assert [line for line in lines if not line.startswith("{")] == [], name
        assert {json.loads(line)["service"] for line in lines} == {name}


# Last: the breaker stays open for a while after this test, short-circuiting pricing for everyone.
def test_an_open_breaker_counts_short_circuited_calls_that_never_reach_pricing(
    lab: Lab, faults: Callable[..., str]
) -> None:
    shopper = new_shopper(lab, returning=True)
    faults(service="pricing", method="GetAdjustment", error="INTERNAL", user=shopper.user_id)
    before = scrape_all(lab)
    pricing = {"dependency": "pricing", "method": "GetAdjustment"}

    for checkouts in range(1, 21):
        reply, _trace, _caller = traced_checkout(shopper)
        assert reply.status == 201, f"checkout {checkouts}: {reply.body}"
        after = scrape_all(lab)
        if moved(before, after, "gateway", DEPENDENCY_CALLS, **pricing, outcome="short_circuited"):
            break
        assert shopper.add(SKU).status == 200
    else:
        pytest.fail("20 failed calls to pricing in a row never opened its breaker")
    # Every checkout but the last reached pricing, failed and fell back; the breaker refused the last one.
    assert moved(before, after, "pricing", RPC_COUNT, rpc_method="GetAdjustment") == checkouts - 1
    assert moved(before, after, "gateway", DEPENDENCY_CALLS, **pricing, outcome="error") == checkouts - 1
    assert moved(before, after, "gateway", DEPENDENCY_CALLS, **pricing, outcome="short_circuited") == 1
    # And every one of them, the refused one included, fell back: the fallback rate does not drop as the breaker opens.
    assert moved(before, after, "gateway", FALLBACKS, **pricing, cause="error") == checkouts - 1
    assert moved(before, after, "gateway", FALLBACKS, **pricing, cause="short_circuited") == 1
