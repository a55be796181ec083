"""An OTLP/gRPC trace receiver run by a test: the lab's real processes export their spans to it, and it keeps
them in memory for the test to look into (the in-memory exporter, for spans made in other processes).

Point a process at it with `receiver.env` (OTEL_EXPORTER_OTLP_ENDPOINT, and a short batch delay);
`one`, `has` and `linked` pick spans out of a received trace and tell when it is complete.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from purchase_lab.ports import free_port

# Milliseconds a process holds finished spans before it sends them: short, so a test waits little.
BATCH_DELAY_MS = 50
SERVER = trace_pb2.Span.SPAN_KIND_SERVER
CLIENT = trace_pb2.Span.SPAN_KIND_CLIENT
STATUS_ERROR = trace_pb2.Status.STATUS_CODE_ERROR


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as a process exported it: the service that made it, its ids, and what it carries."""

    service: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]
    status: int
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.service}:{self.name}"


def _value(value: common_pb2.AnyValue) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def _attributes(pairs: Iterable[common_pb2.KeyValue]) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs}


class SpanReceiver(trace_service_pb2_grpc.TraceServiceServicer):
    """The OpenTelemetry collector's trace service, keeping every span it is sent."""

    def __init__(self) -> None:
        self._spans: list[ReceivedSpan] = []
        self._changed = threading.Condition()
        self._server: grpc.Server | None = None
        self.port = 0

    def start(self) -> SpanReceiver:
        """Listen on a free loopback port."""
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self, self._server)
        self.port = self._server.add_insecure_port(f"127.0.0.1:{free_port()}")
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop listening at once."""
        if self._server is not None:
            self._server.stop(None)

    @property
    def env(self) -> dict[str, str]:
        """The variables that make a lab's processes send their spans here, within BATCH_DELAY_MS."""
        return {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{self.port}",
            "OTEL_BSP_SCHEDULE_DELAY": str(BATCH_DELAY_MS),
        }

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        """Keep the spans of one export."""
        received = [
            ReceivedSpan(
                service=_attributes(resource_spans.resource.attributes).get("service.name", "?"),
                name=span.name,
                kind=span.kind,
                trace_id=span.trace_id.hex(),
                span_id=span.span_id.hex(),
                parent_id=span.parent_span_id.hex(),
                attributes=_attributes(span.attributes),
                status=span.status.code,
                events=[(event.name, _attributes(event.attributes)) for event in span.events],
            )
            for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]
        with self._changed:
            self._spans.extend(received)
            self._changed.notify_all()
        return trace_service_pb2.ExportTraceServiceResponse()

    def spans(self) -> list[ReceivedSpan]:
        """Every span received so far."""
        with self._changed:
            return list(self._spans)

    def wait_for_trace(
        self, trace_id: str, complete: Callable[[list[ReceivedSpan]], bool], timeout: float = 10.0
    ) -> list[ReceivedSpan]:
        """The trace's spans, once complete(spans) holds; AssertionError naming what came when it never does."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                spans = [span for span in self._spans if span.trace_id == trace_id]
                if complete(spans):
                    return spans
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"trace {trace_id} incomplete after {timeout} s: {sorted(map(str, spans))}")
                self._changed.wait(remaining)


def one(spans: list[ReceivedSpan], service: str, name: str, kind: int) -> ReceivedSpan:
    """The one span of this service, name and kind."""
    found = [span for span in spans if (span.service, span.name, span.kind) == (service, name, kind)]
    assert len(found) == 1, f"expected one {service}:{name}, got {sorted(map(str, spans))}"
    return found[0]


def has(*wanted: tuple[str, str, int]) -> Callable[[list[ReceivedSpan]], bool]:
    """A trace is complete once it has a span of each (service, name, kind)."""
    return lambda spans: all(any((s.service, s.name, s.kind) == want for s in spans) for want in wanted)


def linked(caller_span_id: str) -> Callable[[list[ReceivedSpan]], bool]:
    """A trace holds together once every span's parent is in it, or is the caller's span."""
    return lambda spans: all(span.parent_id in {caller_span_id, *(s.span_id for s in spans)} for span in spans)
