"""An OTLP receiver run by a test, for traces and metrics over gRPC and over HTTP (protobuf bodies).

It records which service sent which signal over which protocol, so a test can tell that every process of
a lab exports both signals over the protocol the standard OTEL_* variables chose.
"""

from __future__ import annotations

import threading
import time
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from purchase_lab.ports import free_port


def _service_names(resources: list) -> set[str]:
    return {
        attribute.value.string_value
        for resource in resources
        for attribute in resource.resource.attributes
        if attribute.key == "service.name"
    }


class OtlpReceiver:
    """Both OTLP transports on free loopback ports; `seen` holds (protocol, signal, service) triples."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str, str]] = set()
        self._changed = threading.Condition()
        self._grpc: grpc.Server | None = None
        self._http: ThreadingHTTPServer | None = None
        self.grpc_port = 0
        self.http_port = 0

    def record(self, protocol: str, signal: str, services: set[str]) -> None:
        """Note what arrived."""
        with self._changed:
            self.seen |= {(protocol, signal, service) for service in services}
            self._changed.notify_all()

    def start(self) -> OtlpReceiver:
        """Listen for OTLP/gRPC and OTLP/HTTP."""
        receiver = self

        class Traces(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request, context):
                receiver.record("grpc", "traces", _service_names(list(request.resource_spans)))
                return trace_service_pb2.ExportTraceServiceResponse()

        class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
            def Export(self, request, context):
                receiver.record("grpc", "metrics", _service_names(list(request.resource_metrics)))
                return metrics_service_pb2.ExportMetricsServiceResponse()

        class Http(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == "/v1/traces":
                    request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
                    receiver.record("http/protobuf", "traces", _service_names(list(request.resource_spans)))
                    answer = trace_service_pb2.ExportTraceServiceResponse()
                elif self.path == "/v1/metrics":
                    request = metrics_service_pb2.ExportMetricsServiceRequest.FromString(body)
                    receiver.record("http/protobuf", "metrics", _service_names(list(request.resource_metrics)))
                    answer = metrics_service_pb2.ExportMetricsServiceResponse()
                else:
                    self.send_error(404)
                    return
                payload = answer.SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the test reads what was received, not an access log."""

        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), self._grpc)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), self._grpc)
        self.grpc_port = self._grpc.add_insecure_port(f"127.0.0.1:{free_port()}")
        self._grpc.start()
        self._http = ThreadingHTTPServer(("127.0.0.1", free_port()), Http)
        self.http_port = self._http.server_address[1]
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop both listeners."""
        if self._grpc is not None:
            self._grpc.stop(None)
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()

    def env(self, protocol: str) -> dict[str, str]:
        """The standard variables that send a process's spans and metrics here over protocol, quickly."""
        port = self.grpc_port if protocol == "grpc" else self.http_port
        return {
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_METRICS_EXPORTER": "otlp",
            "OTEL_BSP_SCHEDULE_DELAY": "50",
            "OTEL_METRIC_EXPORT_INTERVAL": "300",
        }

    def wait_for(self, wanted: set[tuple[str, str, str]], timeout: float = 20.0) -> set[tuple[str, str, str]]:
        """What arrived once every wanted triple did; what did arrive when they did not within timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not wanted <= self.seen and time.monotonic() < deadline:
                self._changed.wait(max(0.0, deadline - time.monotonic()))
            return set(self.seen)
