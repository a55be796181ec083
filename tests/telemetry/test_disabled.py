"""OTEL_SDK_DISABLED=true turns telemetry into a no-op: no interceptors, no endpoint, no spans, no cost."""

from __future__ import annotations

import grpc
import pytest
from flask import Flask
from opentelemetry import metrics, trace

from purchase_lab.telemetry import setup_telemetry, spans
from purchase_lab.telemetry.instrument import grpc_server_interceptors, instrument_channel, instrument_flask

pytestmark = pytest.mark.unit

DISABLED = {"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}


def test_disabled_telemetry_adds_nothing_to_calls_and_serves_no_metrics() -> None:
    global_tracer_provider = trace.get_tracer_provider()
    global_meter_provider = metrics.get_meter_provider()

    telemetry = setup_telemetry("cart", DISABLED)
    channel = grpc.insecure_channel("127.0.0.1:1")
    try:
        assert not telemetry.enabled
        assert grpc_server_interceptors(telemetry) == []
        assert instrument_channel(channel, telemetry) is channel
        assert telemetry.serve_metrics("127.0.0.1", 9461) is None
        assert telemetry.exposition() == b""
    finally:
        channel.close()
        telemetry.shutdown()
    assert trace.get_tracer_provider() is global_tracer_provider
    assert metrics.get_meter_provider() is global_meter_provider


def test_disabled_telemetry_records_nothing_and_says_why_metrics_are_missing() -> None:
    telemetry = setup_telemetry("gateway", DISABLED)
    app = Flask(__name__)
    instrument_flask(app, telemetry)

    with telemetry.tracer_provider.get_tracer("test").start_as_current_span("checkout") as span:
        spans.record_degradation("pricing", "no_adjustment", "UNAVAILABLE")
        with telemetry.metrics.dependency_call("pricing", "GetAdjustment") as call:
            call.fallback()
    answer = app.test_client().get("/metrics")

    assert not span.is_recording()
    assert answer.status_code == 404
    assert "OTEL_SDK_DISABLED=true" in answer.get_data(as_text=True)
