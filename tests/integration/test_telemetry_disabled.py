"""OTEL_SDK_DISABLED=true is honoured by every real process: the shop works, and nothing is traced or measured."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import Lab
from tests.integration.test_shop import Shopper
from tests.telemetry.receiver import SpanReceiver

pytestmark = pytest.mark.integration

SERVICES = ("gateway", "cart", "pricing", "email")


@pytest.fixture
def receiver() -> Iterator[SpanReceiver]:
    """An OTLP receiver the lab is told to send its spans to, if it made any."""
    running = SpanReceiver().start()
    yield running
    running.stop()


def test_a_lab_with_telemetry_disabled_checks_out_and_reports_nothing(
    tmp_path_factory: pytest.TempPathFactory, receiver: SpanReceiver
) -> None:
    env = {**receiver.env, "OTEL_SDK_DISABLED": "true", "PURCHASE_LOG_FORMAT": "json"}
    lab = Lab(tmp_path_factory.mktemp("telemetry-off"), env=env).start()
    try:
        shopper = Shopper(lab, f"u-{uuid.uuid4().hex[:12]}")
        assert shopper.add("COF-ETH-250").status == 200
        traceparent = f"00-{uuid.uuid4().hex}-{'1' * 16}-01"
        reply = shopper("POST", "/api/v1/checkout", Idempotency_Key="k-1", traceparent=traceparent)
        assert reply.status == 201

        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(lab.metrics_url("gateway"), timeout=5)
        assert answer.value.code == 404
        assert "metrics are off because OTEL_SDK_DISABLED=true" in answer.value.read().decode()
        for name in ("cart", "pricing", "email"):
            with pytest.raises(urllib.error.URLError):
                urllib.request.urlopen(lab.metrics_url(name), timeout=5)
    finally:
        lab.stop()  # a process that made spans sends them as it stops

    assert receiver.spans() == []
    for name in SERVICES:
        entries = [json.loads(line) for line in lab.logs(name).splitlines() if line.startswith("{")]
        assert "telemetry is off (OTEL_SDK_DISABLED=true)" in [entry["message"] for entry in entries], name
        assert not [entry for entry in entries if "trace_id" in entry], name
