"""Instrument the lab's processes: gRPC server and client, Flask and Redis with the official OpenTelemetry
instrumentations, plus our RED interceptor for gRPC (the gRPC instrumentation records spans only).

Each function does nothing when telemetry is disabled, so OTEL_SDK_DISABLED=true adds no interceptor
to any call.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import grpc
from flask import Flask, Response, request
from google.protobuf import descriptor_pool
from opentelemetry import trace
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.grpc import client_interceptor, server_interceptor
from opentelemetry.instrumentation.grpc.grpcext import intercept_channel
from opentelemetry.instrumentation.redis import RedisInstrumentor

from purchase_lab.telemetry.metrics import PurchaseMetrics
from purchase_lab.telemetry.setup import Scraper, Telemetry

EXTENSION = "purchase_telemetry"
# Only the lab's own services are traced and measured: health checks and reflection would drown them.
LAB_SERVICE_PREFIX = "purchase."
# Never traced at the gateway: the health probe every few seconds, and Prometheus's scrape.
FLASK_EXCLUDED_URLS = "/healthz,/metrics"
METRICS_OFF = "metrics are off because OTEL_SDK_DISABLED=true; unset it and restart the service\n"


def lab_call(details: Any) -> bool:
    """True for a call to one of the lab's services (client call info or server call details).

    Ours rather than the instrumentation's filters, whose isinstance check on a typing Protocol
    costs tens of microseconds per call.
    """
    method = getattr(details, "full_method", None) or details.method
    if isinstance(method, bytes):
        method = method.decode()
    return method.startswith("/" + LAB_SERVICE_PREFIX)


def grpc_server_interceptors(telemetry: Telemetry, service_names: Sequence[str] = ()) -> list[grpc.ServerInterceptor]:
    """The interceptors to put first on a gRPC server: the span of each call, then its RED metrics.

    service_names are the full names of the services served: their call counters start at 0.
    """
    if not telemetry.enabled:
        return []
    for name in service_names:
        if name.startswith(LAB_SERVICE_PREFIX):
            methods = descriptor_pool.Default().FindServiceByName(name).methods
            telemetry.metrics.declare_rpcs(name, [method.name for method in methods])
    return [
        server_interceptor(tracer_provider=telemetry.tracer_provider, filter_=lab_call),
        RpcMetricsInterceptor(telemetry.metrics),
    ]


class RpcMetricsInterceptor(grpc.ServerInterceptor):
    """Records `purchase.rpc.server.calls` and `.duration` (rate, errors, duration) per unary call to a lab service."""

    def __init__(self, metrics: PurchaseMetrics) -> None:
        self._metrics = metrics

    def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None], details: Any
    ) -> grpc.RpcMethodHandler | None:
        """Wrap the handler of each unary call to a `purchase.*` service; leave the others alone."""
        handler = continuation(details)
        full_method = details.method.decode() if isinstance(details.method, bytes) else details.method
        if handler is None or handler.unary_unary is None or not full_method.startswith("/" + LAB_SERVICE_PREFIX):
            return handler
        service, method = full_method[1:].rsplit("/", 1)
        behaviour = handler.unary_unary

        def measured(request: Any, context: grpc.ServicerContext) -> Any:
            started = time.perf_counter()
            failed = True
            try:
                response = behaviour(request, context)
                failed = False
                return response
            finally:
                code = context.code() or (grpc.StatusCode.UNKNOWN if failed else grpc.StatusCode.OK)
                self._metrics.record_rpc(service, method, code.name, time.perf_counter() - started)

        return grpc.unary_unary_rpc_method_handler(
            measured,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def instrument_channel(channel: grpc.Channel, telemetry: Telemetry) -> grpc.Channel:
    """The channel with a client span around each call and the W3C trace context in its metadata.

    Wrap last, so this interceptor is the outermost and its span covers any other interceptor's
    work, an injected client-side fault included.
    """
    if not telemetry.enabled:
        return channel
    return intercept_channel(channel, client_interceptor(tracer_provider=telemetry.tracer_provider, filter_=lab_call))


def instrument_flask(app: Flask, telemetry: Telemetry, scrape: Scraper | None = None) -> None:
    """A server span and `http.server.request.duration` per request, and GET /metrics for Prometheus.

    scrape(accept) answers /metrics: by default with this process's metrics; under gunicorn, with
    every worker's (see workers.py). The format follows the scrape's Accept header, as on every other
    process (see setup.negotiate). Keeps telemetry in app.extensions for `telemetry_of(app)`.
    """
    app.extensions[EXTENSION] = telemetry
    answer = scrape or telemetry.scrape
    if telemetry.enabled:
        FlaskInstrumentor.instrument_app(
            app,
            tracer_provider=telemetry.tracer_provider,
            meter_provider=telemetry.meter_provider,
            excluded_urls=FLASK_EXCLUDED_URLS,
        )

    def metrics_endpoint() -> Response:
        if not telemetry.enabled:
            # Plain text, like the metrics themselves, and past any JSON error handler of the app.
            return Response(METRICS_OFF, status=404, mimetype="text/plain")
        body, content_type = answer(request.headers.get("Accept"))
        # content_type, not mimetype: Flask would append a second charset to the one it carries.
        return Response(body, content_type=content_type)

    app.add_url_rule("/metrics", "metrics", metrics_endpoint, methods=["GET"])


def telemetry_of(app: Flask) -> Telemetry:
    """The app's Telemetry; a disabled one when the app was never instrumented (as in most tests)."""
    telemetry = app.extensions.get(EXTENSION)
    if telemetry is None:
        telemetry = app.extensions[EXTENSION] = Telemetry.disabled(app.name)
    return telemetry


def instrument_redis(telemetry: Telemetry) -> None:
    """Trace every Redis command of this process that runs inside a traced operation.

    The instrumentation patches the redis client classes, once per process; telemetry.shutdown()
    undoes it. Commands with no operation around them (the email relay's polling) are not traced:
    each would be a trace of its own, several a second, burying the checkouts.
    """
    if not telemetry.enabled:
        return
    instrumentor = RedisInstrumentor()
    instrumentor.instrument(tracer_provider=ChildSpansOnly(telemetry.tracer_provider))
    telemetry.on_shutdown(instrumentor.uninstrument)


class ChildSpansOnly(trace.TracerProvider):
    """A tracer provider whose tracers make a span only when there is a parent span to hang it on."""

    def __init__(self, provider: trace.TracerProvider) -> None:
        self._provider = provider

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        """The wrapped provider's tracer, made to skip spans that would start a trace."""
        return _ChildSpansOnlyTracer(self._provider.get_tracer(*args, **kwargs))


class _ChildSpansOnlyTracer(trace.Tracer):
    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer

    def start_span(self, name: str, context: Any = None, *args: Any, **kwargs: Any) -> trace.Span:
        if not _has_parent(context):
            return trace.INVALID_SPAN
        return self._tracer.start_span(name, context, *args, **kwargs)

    @contextlib.contextmanager
    def start_as_current_span(self, name: str, context: Any = None, *args: Any, **kwargs: Any) -> Iterator[trace.Span]:
        if not _has_parent(context):
            yield trace.INVALID_SPAN
            return
        with self._tracer.start_as_current_span(name, context, *args, **kwargs) as span:
            yield span


def _has_parent(context: Any) -> bool:
    return trace.get_current_span(context).get_span_context().is_valid
