"""Observability for every process of the lab: OpenTelemetry traces and metrics, Prometheus, JSON logs.

- setup.py: `setup_telemetry(service)` from the standard OTEL_* variables; `Telemetry.serve_metrics`;
  `negotiate`, the one choice of exposition format every /metrics makes.
- instrument.py: gRPC server and client, Flask and Redis instrumentation, our RED interceptor.
- metrics.py: the `purchase.*` instruments (RPCs, dependency outcomes and fallbacks, flags, funnel,
  checkouts), and the series each creates at 0 on start.
- spans.py: `purchase.*` span attributes (flag variants, injected faults, degradations).
- hooks.py: the OpenFeature hook, the flag ramp gauge, the fault listener.
- workers.py: the gateway's /metrics across its gunicorn workers.
- logging.py: JSON log lines carrying trace and span ids.

See docs/observability.md for which metric answers which question.
"""

from purchase_lab.telemetry.logging import JsonFormatter, configure_json_logging
from purchase_lab.telemetry.metrics import DependencyCall, PurchaseMetrics
from purchase_lab.telemetry.settings import TelemetrySettings
from purchase_lab.telemetry.setup import MetricsEndpointError, Telemetry, setup_telemetry

__all__ = [
    "DependencyCall",
    "JsonFormatter",
    "MetricsEndpointError",
    "PurchaseMetrics",
    "Telemetry",
    "TelemetrySettings",
    "configure_json_logging",
    "setup_telemetry",
]
