"""An OTLP/gRPC trace receiver: the lab exports its spans here, so a run can see which calls a checkout made.

Each run's checkout carries a `traceparent` of its own, so every span of that checkout has the run's
trace id; the gateway's client spans of the trace, in start order, are the call sites it reached.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1 import trace_pb2

from purchase_lab.ports import free_port

CLIENT = trace_pb2.Span.SPAN_KIND_CLIENT
SERVER = trace_pb2.Span.SPAN_KIND_SERVER
LAB_PREFIX = "purchase."


@dataclass(frozen=True)
class Call:
    """One downstream call the gateway made: service (cart, pricing, email), method, when it started."""

    service: str
    method: str
    started_ns: int


def _service_of(full_name: str) -> str:
    """'cart' for 'purchase.cart.v1.CartService'."""
    return full_name.split(".")[1]


def _method_of(span: trace_pb2.Span) -> str:
    return _attribute(span, "rpc.method") or span.name.rsplit("/", 1)[-1]


def _attribute(span: trace_pb2.Span, key: str) -> str:
    return next((item.value.string_value for item in span.attributes if item.key == key), "")


class TraceReceiver(trace_service_pb2_grpc.TraceServiceServicer):
    """Keeps the gateway's calls and finished HTTP requests of every trace it receives."""

    def __init__(self) -> None:
        self._calls: dict[str, list[Call]] = defaultdict(list)
        self._requests: set[str] = set()
        self._changed = threading.Condition()
        self._server: grpc.Server | None = None
        self.endpoint = ""

    def start(self) -> TraceReceiver:
        """Listen on a free port of 127.0.0.1; `endpoint` is the URL to give OTEL_EXPORTER_OTLP_ENDPOINT."""
        self._server = grpc.server(ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self, self._server)
        port = self._server.add_insecure_port(f"127.0.0.1:{free_port()}")
        self._server.start()
        self.endpoint = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.stop(None)

    def Export(self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext):
        """Take one batch of spans from a process of the lab."""
        with self._changed:
            for resource_spans in request.resource_spans:
                service = next(
                    (a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name"), ""
                )
                if service != "gateway":
                    continue
                for scope in resource_spans.scope_spans:
                    for span in scope.spans:
                        self._take(span)
            self._changed.notify_all()
        return trace_service_pb2.ExportTraceServiceResponse()

    def _take(self, span: trace_pb2.Span) -> None:
        trace_id = span.trace_id.hex()
        if span.kind == SERVER:
            self._requests.add(trace_id)
            return
        full = _attribute(span, "rpc.service") or span.name.strip("/").split("/")[0]
        if span.kind == CLIENT and full.startswith(LAB_PREFIX):
            self._calls[trace_id].append(Call(_service_of(full), _method_of(span), span.start_time_unix_nano))

    def calls(self, trace_id: str, timeout: float = 15.0) -> list[Call]:
        """The calls of one traced request in start order, once its request span has arrived.

        The request's span ends after all its calls, and each process exports spans in the order they
        end, so once it is here every call of the request is too.
        """

        with self._changed:
            if not self._changed.wait_for(lambda: trace_id in self._requests, timeout):
                raise TimeoutError(
                    f"the gateway's spans of trace {trace_id} did not arrive within {timeout:.0f} s; "
                    "is the gateway exporting traces (OTEL_TRACES_EXPORTER=otlp)?"
                )
            self._requests.discard(trace_id)
            return sorted(self._calls.pop(trace_id, []), key=lambda call: call.started_ns)
