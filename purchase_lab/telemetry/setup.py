"""Set up OpenTelemetry for one process from the standard OTEL_* variables: traces, metrics, Prometheus.

`setup_telemetry("cart")` once per process (in each gunicorn worker, after the fork) returns a
Telemetry: its tracer and meter providers, the `purchase.*` metrics, and a Prometheus registry that
`serve_metrics` or the gateway's /metrics route exposes. With OTEL_SDK_DISABLED=true it returns a
disabled Telemetry: no providers, no interceptors, no endpoint, instruments that do nothing.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from wsgiref.simple_server import WSGIServer

from opentelemetry import metrics, trace
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest, start_http_server
from prometheus_client.exposition import choose_encoder

from purchase_lab.releases import process_release
from purchase_lab.telemetry.metrics import PurchaseMetrics
from purchase_lab.telemetry.settings import ENDPOINT_VARIABLES, TelemetrySettings

log = logging.getLogger(__name__)

METER_NAME = "purchase_lab"
# Where the OTLP exporters send when no OTEL_EXPORTER_OTLP_*ENDPOINT says (the SDK's own defaults).
DEFAULT_OTLP_ENDPOINTS = {"grpc": "http://localhost:4317", "http/protobuf": "http://localhost:4318"}
OTLP_EXPORTER_LOGGERS = ("opentelemetry.exporter.otlp.proto.grpc.exporter", "opentelemetry.exporter.otlp.proto.http")


# Turns a registry (anything with collect()) into an exposition body.
Encoder = Callable[[CollectorRegistry], bytes]
# Answers a scrape: its Accept header -> the body and its Content-Type.
Scraper = Callable[[str | None], tuple[bytes, str]]


def negotiate(accept: str | None) -> tuple[Encoder, str]:
    """The exposition format to answer a scrape with, by its Accept header, and its one Content-Type.

    The same choice the gRPC services' endpoints (prometheus_client's server) make: OpenMetrics when
    the scraper asks for it, as Prometheus does, else the classic text format, version 0.0.4.
    """
    return choose_encoder(accept or "")


class MetricsEndpointError(OSError):
    """The Prometheus endpoint could not listen on its port."""


class Telemetry:
    """One process's telemetry: tracer and meter providers, `purchase.*` metrics, Prometheus registry."""

    def __init__(
        self,
        service: str,
        tracer_provider: trace.TracerProvider,
        meter_provider: metrics.MeterProvider,
        registry: CollectorRegistry | None,
        metrics_port: int = 0,
    ) -> None:
        self.service = service
        self.metrics_port = metrics_port
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.registry = registry
        self.metrics = PurchaseMetrics(meter_provider.get_meter(METER_NAME))
        self._closers: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._shut_down = False

    @classmethod
    def disabled(cls, service: str) -> Telemetry:
        """Telemetry that records nothing and costs (almost) nothing: OTEL_SDK_DISABLED=true."""
        return cls(service, trace.NoOpTracerProvider(), metrics.NoOpMeterProvider(), None)

    @property
    def enabled(self) -> bool:
        """False for the disabled Telemetry: callers then add no interceptors and no endpoint."""
        return self.registry is not None

    def exposition(self, encode: Encoder = generate_latest) -> bytes:
        """This process's metrics, in the Prometheus text format unless encode (see negotiate) says otherwise."""
        return encode(self.registry) if self.registry is not None else b""

    def scrape(self, accept: str | None = None) -> tuple[bytes, str]:
        """This process's metrics in the format a scrape's Accept header asks for, and its Content-Type."""
        encode, content_type = negotiate(accept)
        return self.exposition(encode), content_type

    def serve_metrics(self, host: str, port: int | None = None) -> int | None:
        """Serve /metrics for Prometheus on host:port in a thread; return the port (None when off).

        port defaults to PURCHASE_<SERVICE>_METRICS_PORT. Port 0 or disabled telemetry: no endpoint.
        Raises MetricsEndpointError when the port is taken.
        """
        port = self.metrics_port if port is None else port
        if self.registry is None or port == 0:
            return None
        try:
            server, _thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as error:
            raise MetricsEndpointError(
                f"cannot serve metrics on {host}:{port} ({error.strerror}); is another process using the port? "
                f"set PURCHASE_{self.service.upper()}_METRICS_PORT to a free port, or to 0 to turn the endpoint off"
            ) from error
        self.on_shutdown(lambda: _stop_server(server))
        log.info("metrics for Prometheus at http://%s:%d/metrics", host, server.server_port)
        return server.server_port

    def on_shutdown(self, close: Callable[[], None]) -> None:
        """Run close() at shutdown, before the providers flush (latest added runs first)."""
        with self._lock:
            self._closers.append(close)

    def shutdown(self) -> None:
        """Stop the endpoint, undo instrumentation, send the spans still buffered; safe to call twice."""
        with self._lock:
            if self._shut_down:
                return
            self._shut_down = True
            closers = self._closers[::-1]
        for close in closers:
            close()
        if isinstance(self.tracer_provider, TracerProvider):
            self.tracer_provider.shutdown()
        if isinstance(self.meter_provider, MeterProvider):
            self.meter_provider.shutdown()


def setup_telemetry(
    service: str,
    env: Mapping[str, str] = os.environ,
    *,
    span_exporter: SpanExporter | None = None,
    metric_readers: Sequence[MetricReader] = (),
    set_global: bool = True,
) -> Telemetry:
    """Configure tracing and metrics for this process from the OTEL_* variables in env.

    span_exporter and metric_readers add in-memory ones for tests (spans then export as each ends).
    set_global makes these providers the process's global ones, for code that uses the API alone.
    Raises ConfigError on a bad OTEL_* or PURCHASE_*_METRICS_PORT value.
    """
    settings = TelemetrySettings.from_env(service, env)
    if not settings.enabled:
        log.info("telemetry is off (OTEL_SDK_DISABLED=true)")
        return Telemetry.disabled(service)
    # Stable HTTP semantic conventions: the Flask instrumentation then records
    # http.server.request.duration in seconds, per http.route. It reads this variable itself.
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")
    resource = Resource.create({SERVICE_NAME: settings.service_name, SERVICE_VERSION: process_release(env)})
    tracer_provider = TracerProvider(resource=resource, sampler=settings.sampler, shutdown_on_exit=False)
    for processor in _span_processors(settings, span_exporter, env):
        tracer_provider.add_span_processor(processor)
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    prometheus = PrometheusMetricReader(
        scope_info_enabled=False,
        resource_attribute_filter=lambda key: key == SERVICE_NAME,
        registry=registry,
    )
    pushed = [_otlp_metric_reader(settings.metrics_protocol)] if "otlp" in settings.metrics_exporters else []
    meter_provider = MeterProvider(
        metric_readers=[prometheus, *pushed, *metric_readers], resource=resource, shutdown_on_exit=False
    )
    telemetry = Telemetry(service, tracer_provider, meter_provider, registry, settings.metrics_port)
    if set_global:
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(meter_provider)
        atexit.register(telemetry.shutdown)
    log.info(
        "telemetry on: service %s, traces to %s",
        settings.service_name,
        ", ".join(settings.traces_exporters) or "no exporter (set OTEL_EXPORTER_OTLP_ENDPOINT to send them)",
    )
    return telemetry


def _span_processors(
    settings: TelemetrySettings, span_exporter: SpanExporter | None, env: Mapping[str, str]
) -> list[SimpleSpanProcessor | BatchSpanProcessor]:
    processors: list[SimpleSpanProcessor | BatchSpanProcessor] = []
    if span_exporter is not None:
        processors.append(SimpleSpanProcessor(span_exporter))
    if "otlp" in settings.traces_exporters:
        default = DEFAULT_OTLP_ENDPOINTS[settings.traces_protocol]
        endpoint = next((env[name] for name in ENDPOINT_VARIABLES if env.get(name)), default)
        for name in OTLP_EXPORTER_LOGGERS:
            logging.getLogger(name).addFilter(_ExportRetryFilter())
        exporter = _otlp_span_exporter(settings.traces_protocol)
        processors.append(BatchSpanProcessor(ReportingSpanExporter(exporter, endpoint)))
    if "console" in settings.traces_exporters:
        processors.append(BatchSpanProcessor(ConsoleSpanExporter()))
    return processors


def _otlp_span_exporter(protocol: str) -> SpanExporter:
    """The OTLP span exporter of the protocol; it reads its endpoint, headers and timeout from OTEL_* itself."""
    # Imported here: each exporter pulls in protobuf message code (and HTTP or gRPC clients) no other path needs.
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter

        return HttpSpanExporter()
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter

    return GrpcSpanExporter()


def _otlp_metric_reader(protocol: str) -> MetricReader:
    """A reader pushing metrics over OTLP every OTEL_METRIC_EXPORT_INTERVAL ms (the SDK reads it; 60 s by default)."""
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter

        return PeriodicExportingMetricReader(HttpMetricExporter())
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter

    return PeriodicExportingMetricReader(GrpcMetricExporter())


class ReportingSpanExporter(SpanExporter):
    """Logs once when spans cannot be delivered and once when they can again, instead of every retry."""

    def __init__(self, exporter: SpanExporter, endpoint: str) -> None:
        self._exporter = exporter
        self._endpoint = endpoint
        self._failing = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export through the wrapped exporter and report a change between delivering and not."""
        result = self._exporter.export(spans)
        failing = result is not SpanExportResult.SUCCESS
        if failing and not self._failing:
            log.warning(
                "spans cannot be sent to %s; they are dropped until it answers "
                "(start the observability profile, or set OTEL_TRACES_EXPORTER=none)",
                self._endpoint,
            )
        elif self._failing and not failing:
            log.info("spans are reaching %s again", self._endpoint)
        self._failing = failing
        return result

    def shutdown(self) -> None:
        """Shut the wrapped exporter down."""
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the wrapped exporter."""
        return self._exporter.force_flush(timeout_millis)


class _ExportRetryFilter(logging.Filter):
    """Drop the OTLP exporter's per-retry and per-batch failure lines; ReportingSpanExporter reports once."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Transient error", "Failed to export"))


def _stop_server(server: WSGIServer) -> None:
    server.shutdown()
    server.server_close()
