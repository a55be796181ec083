"""Every process of a lab exports its spans and metrics over the OTLP protocol the standard variables choose.

A receiver this test runs takes both OTLP transports (tests/telemetry/otlp_receiver.py); the lab's four
services are pointed at it with OTEL_EXPORTER_OTLP_PROTOCOL and OTEL_EXPORTER_OTLP_ENDPOINT only. With text
logs, a line logged while serving a request shows its trace id.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from purchase_lab.health import wait_until
from tests.conftest import Lab
from tests.integration.test_shop import call
from tests.telemetry.otlp_receiver import OtlpReceiver

pytestmark = pytest.mark.integration

SERVICES = ("gateway", "cart", "pricing", "email")


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    """The OTLP receiver (gRPC and HTTP) the labs export to."""
    otlp = OtlpReceiver().start()
    try:
        yield otlp
    finally:
        otlp.stop()


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_all_four_services_export_spans_and_metrics_over_the_chosen_protocol(
    receiver: OtlpReceiver, tmp_path_factory: pytest.TempPathFactory, protocol: str
) -> None:
    lab = Lab(tmp_path_factory.mktemp("otlp"), env={**receiver.env(protocol), "PURCHASE_LOG_FORMAT": "text"})
    try:
        lab.start()
        shopper = {"X_User_Id": "otlp-ada"}
        assert call(lab, "POST", "/api/v1/cart/items", {"sku": "COF-ETH-250", "quantity": 1}, **shopper).status == 200
        assert call(lab, "POST", "/api/v1/checkout", Idempotency_Key="otlp-1", **shopper).status == 201
        wanted = {(protocol, signal, service) for signal in ("traces", "metrics") for service in SERVICES}
        seen = receiver.wait_for(wanted)
        assert wanted <= seen, sorted(wanted - seen)

        # A line logged inside a request span: a failed soft dependency is a warning.
        lab.processes["email"].kill()
        call(lab, "POST", "/api/v1/cart/items", {"sku": "COF-ETH-250", "quantity": 1}, **shopper)
        call(lab, "POST", "/api/v1/checkout", Idempotency_Key="otlp-2", **shopper)
        wait_until(lambda: "trace_id=" in lab.logs("gateway"), "a gateway log line with its trace id", 10)
        assert re.search(r"WARNING gateway \S+: .* trace_id=[0-9a-f]{32} span_id=[0-9a-f]{16}", lab.logs("gateway"))
    finally:
        lab.stop()
