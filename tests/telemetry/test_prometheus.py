"""Every Prometheus endpoint answers in a text format prometheus_client's own parser reads: a gRPC
service's port, the gateway's /metrics route, and that route gathering every gunicorn worker.
"""

from __future__ import annotations

import os
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families
from purchase.pricing.v1 import pricing_pb2

from purchase_lab.ports import free_port
from purchase_lab.telemetry import MetricsEndpointError, Telemetry, setup_telemetry
from purchase_lab.telemetry.instrument import instrument_flask
from purchase_lab.telemetry.workers import WorkerMetrics, merge_expositions, start_worker_metrics, workers_directory
from tests.telemetry.conftest import Recorded
from tests.telemetry.shop import start_pricing
from tests.telemetry.test_metrics import FakeRedis

pytestmark = pytest.mark.integration


def families(text: str) -> dict[str, Metric]:
    """The metric families in a Prometheus text body, by name."""
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_a_grpc_service_serves_its_rpc_metrics_on_its_metrics_port() -> None:
    telemetry = setup_telemetry("pricing", {"PURCHASE_PRICING_METRICS_PORT": str(free_port())}, set_global=False)
    pricing = start_pricing(telemetry, FakeRedis())
    try:
        pricing.stub.GetAdjustment(pricing_pb2.GetAdjustmentRequest(user_id="ada"), timeout=2)
        port = telemetry.serve_metrics("127.0.0.1")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as answer:
            scraped = families(answer.read().decode())
    finally:
        pricing.stop()
        telemetry.shutdown()

    assert port == telemetry.metrics_port
    samples = scraped["purchase_rpc_server_duration_seconds"].samples
    count = next(s for s in samples if s.name == "purchase_rpc_server_duration_seconds_count")
    assert count.labels["rpc_method"] == "GetAdjustment"
    assert count.labels["rpc_response_status_code"] == "OK"
    assert count.labels["service_name"] == "pricing"
    assert count.value == 1
    assert "process_resident_memory_bytes" in scraped


def test_a_taken_metrics_port_fails_with_the_variable_to_change(recorded: Recorded) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(MetricsEndpointError, match="set PURCHASE_TEST_METRICS_PORT to a free port, or to 0"):
            recorded.telemetry.serve_metrics("127.0.0.1", port)


def test_the_gateways_metrics_route_has_red_per_http_route(recorded: Recorded) -> None:
    app = Flask(__name__)
    instrument_flask(app, recorded.telemetry)
    app.add_url_rule("/api/v1/products/<sku>", "product", lambda sku: {"sku": sku})
    client = app.test_client()
    client.get("/api/v1/products/COF-1")
    client.get("/api/v1/products/TEA-2")

    answer = client.get("/metrics")

    assert answer.status_code == 200
    http = families(answer.get_data(as_text=True))["http_server_request_duration_seconds"]
    counts = [s for s in http.samples if s.name.endswith("_count")]
    # One series for the route, whatever the SKU; Prometheus's own scrape is not counted.
    assert [(s.labels["http_route"], s.labels["http_response_status_code"], s.value) for s in counts] == [
        ("/api/v1/products/<sku>", "200", 2)
    ]
    assert not [span for span in recorded.spans() if span.name == "GET /metrics"]


# What Prometheus 2 sends; it prefers OpenMetrics.
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
TEXT = "text/plain; version=0.0.4; charset=utf-8"


@pytest.mark.parametrize(("accept", "content_type"), [(PROMETHEUS_ACCEPT, OPENMETRICS), (None, TEXT)])
def test_every_endpoint_negotiates_the_same_format_with_one_content_type(
    recorded: Recorded, accept: str | None, content_type: str
) -> None:
    app = Flask(__name__)
    instrument_flask(app, recorded.telemetry)
    recorded.telemetry.metrics.declare_checkouts()
    headers = {"Accept": accept} if accept else {}
    route = app.test_client().get("/metrics", headers=headers)
    port = recorded.telemetry.serve_metrics("127.0.0.1", free_port())
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers=headers)
    with urllib.request.urlopen(request, timeout=2) as answer:
        served = answer.headers.get_all("Content-Type")
        served_body = answer.read().decode()

    assert route.headers.getlist("Content-Type") == served == [content_type]
    # The same families, with the same types, whichever endpoint answered.
    assert _types(route.get_data(as_text=True), content_type) == _types(served_body, content_type)
    assert _types(served_body, content_type)["purchase_checkouts"] == "counter"


def _types(body: str, content_type: str) -> dict[str, str]:
    parse = (
        openmetrics_families if content_type.startswith("application/openmetrics") else text_string_to_metric_families
    )
    return {family.name: family.type for family in parse(body)}


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[Telemetry, WorkerMetrics, Telemetry, WorkerMetrics]]:
    first = setup_telemetry("gateway", {}, set_global=False)
    second = setup_telemetry("gateway", {}, set_global=False)
    first_worker = WorkerMetrics(tmp_path, first.registry, worker="101").start()
    second_worker = WorkerMetrics(tmp_path, second.registry, worker="102").start()
    yield first, first_worker, second, second_worker
    for worker in (first_worker, second_worker):
        worker.stop()
    for telemetry in (first, second):
        telemetry.shutdown()


def test_any_worker_answers_metrics_for_every_worker(two_workers, tmp_path: Path) -> None:
    first, first_worker, second, second_worker = two_workers
    first.metrics.record_checkout("placed", fallbacks="on")
    second.metrics.record_checkout("placed", fallbacks="on")
    second.metrics.record_checkout("failed", fallbacks="on")

    from_first = families(first_worker.exposition().decode())
    from_second = families(second_worker.exposition().decode())

    def checkouts(scraped: dict[str, Metric]) -> set[tuple[str, str, float]]:
        return {(s.labels["worker"], s.labels["result"], s.value) for s in scraped["purchase_checkouts"].samples}

    body, content_type = first_worker.scrape(PROMETHEUS_ACCEPT)
    in_openmetrics = {family.name: family for family in openmetrics_families(body.decode())}

    expected = {("101", "placed", 1), ("102", "placed", 1), ("102", "failed", 1)}
    assert checkouts(from_first) == checkouts(from_second) == checkouts(in_openmetrics) == expected
    assert content_type == OPENMETRICS
    assert in_openmetrics["target"].type == "info"


def test_a_worker_that_left_is_dropped_from_the_scrape(two_workers, tmp_path: Path) -> None:
    _first, first_worker, _second, second_worker = two_workers
    second_worker.stop()
    # A worker killed before it could unlist itself leaves a listing nobody answers on.
    (tmp_path / "103.port").write_text(str(free_port()), encoding="ascii")

    scraped = families(first_worker.exposition().decode())

    assert {s.labels["worker"] for s in scraped["process_resident_memory_bytes"].samples} == {"101"}
    assert sorted(path.name for path in tmp_path.glob("*.port")) == ["101.port"]


def test_a_gunicorn_worker_lists_its_metrics_until_it_shuts_down() -> None:
    telemetry = setup_telemetry("gateway", {}, set_global=False)
    listing = workers_directory(os.getppid()) / f"{os.getpid()}.port"

    worker = start_worker_metrics(telemetry)
    listed = listing.exists()
    telemetry.shutdown()
    listing.parent.rmdir()  # empty again: this test's only trace

    assert worker is not None
    assert listed
    assert not listing.exists()


@pytest.mark.unit
def test_merging_adds_the_worker_to_every_sample_and_writes_each_family_once() -> None:
    first = '# HELP up Up\n# TYPE up gauge\nup 1.0\n# HELP c C\n# TYPE c counter\nc_total{why="a {b} c"} 2.0\n'
    second = '# HELP up Up\n# TYPE up gauge\nup 0.0\n# HELP c C\n# TYPE c counter\nc_total{why="d"} 3.0\n# EOF\n'

    merged = merge_expositions([("1", first), ("2", second)], openmetrics=True).decode()

    assert merged.splitlines() == [
        "# HELP up Up",
        "# TYPE up gauge",
        'up{worker="1"} 1.0',
        'up{worker="2"} 0.0',
        "# HELP c C",
        "# TYPE c counter",
        'c_total{worker="1",why="a {b} c"} 2.0',
        'c_total{worker="2",why="d"} 3.0',
        "# EOF",
    ]
    assert {family.name for family in openmetrics_families(merged)} == {"up", "c"}
