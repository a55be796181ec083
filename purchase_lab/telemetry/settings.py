"""Telemetry settings: the standard OTEL_* variables, checked up front, and the lab's metrics ports.

The OpenTelemetry SDK reads most OTEL_* variables by itself (OTEL_RESOURCE_ATTRIBUTES, the exporter's
endpoint, headers and timeout, the batch processor's sizes); the ones read here are the ones the
lab decides on, so that a bad value fails at start naming the variable instead of being ignored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from opentelemetry.sdk.trace import sampling

from purchase_lab.config import ConfigError, MetricsPorts, env_str

# Where each gRPC service serves /metrics for Prometheus unless PURCHASE_<SERVICE>_METRICS_PORT says
# otherwise (0 turns the endpoint off). The gateway serves /metrics on its own HTTP port instead.
DEFAULT_METRICS_PORTS = dict(vars(MetricsPorts()))
TRACES_EXPORTERS = ("otlp", "console", "none")
# Prometheus is the lab's pull endpoint (always served, see PURCHASE_*_METRICS_PORT); otlp adds a push.
METRICS_EXPORTERS = ("otlp", "prometheus", "none")
# OTLP over gRPC (port 4317: Jaeger, the collector) or over HTTP with protobuf bodies (port 4318).
OTLP_PROTOCOLS = ("grpc", "http/protobuf")
DEFAULT_OTLP_PROTOCOL = "grpc"
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
RATIO_SAMPLERS = {
    "traceidratio": sampling.TraceIdRatioBased,
    "parentbased_traceidratio": lambda rate: sampling.ParentBased(sampling.TraceIdRatioBased(rate)),
}
FIXED_SAMPLERS = {
    "always_on": sampling.ALWAYS_ON,
    "always_off": sampling.ALWAYS_OFF,
    "parentbased_always_on": sampling.ParentBased(sampling.ALWAYS_ON),
    "parentbased_always_off": sampling.ParentBased(sampling.ALWAYS_OFF),
}


@dataclass(frozen=True)
class TelemetrySettings:
    """How one process reports: on or off, under which name, where its spans go, how many it keeps."""

    enabled: bool
    service_name: str
    traces_exporters: tuple[str, ...]
    sampler: sampling.Sampler
    metrics_port: int
    traces_protocol: str = DEFAULT_OTLP_PROTOCOL
    metrics_exporters: tuple[str, ...] = ()
    metrics_protocol: str = DEFAULT_OTLP_PROTOCOL

    @classmethod
    def from_env(cls, service: str, env: Mapping[str, str] = os.environ) -> TelemetrySettings:
        """Read OTEL_SDK_DISABLED, OTEL_SERVICE_NAME, OTEL_TRACES_EXPORTER, OTEL_TRACES_SAMPLER(_ARG),
        OTEL_METRICS_EXPORTER, the OTLP protocol of each signal, and PURCHASE_<SERVICE>_METRICS_PORT;
        raise ConfigError on a bad value.
        """
        return cls(
            enabled=not _flag(env, "OTEL_SDK_DISABLED"),
            service_name=env_str(env, "OTEL_SERVICE_NAME", service),
            traces_exporters=traces_exporters(env),
            sampler=sampler(env),
            metrics_port=MetricsPorts.from_env(env).of(service),
            traces_protocol=otlp_protocol(env, "traces"),
            metrics_exporters=metrics_exporters(env),
            metrics_protocol=otlp_protocol(env, "metrics"),
        )


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env_str(env, name, "false").strip().lower()
    if raw not in ("true", "false"):
        raise ConfigError(f"{name}={raw!r}; set it to true or false")
    return raw == "true"


def traces_exporters(env: Mapping[str, str]) -> tuple[str, ...]:
    """OTEL_TRACES_EXPORTER as a tuple; when unset: otlp if an OTLP endpoint is set, else none.

    The standard's default is otlp, but with no collector listening the exporter retries every
    batch for seconds; so the lab exports only once it is told where to.
    """
    endpoint_set = any(env.get(name) for name in ENDPOINT_VARIABLES)
    raw = env_str(env, "OTEL_TRACES_EXPORTER", "otlp" if endpoint_set else "none")
    names = tuple(dict.fromkeys(name.strip().lower() for name in raw.split(",") if name.strip()))
    unknown = [name for name in names if name not in TRACES_EXPORTERS]
    if unknown or not names:
        raise ConfigError(f"OTEL_TRACES_EXPORTER={raw!r}; use {', '.join(TRACES_EXPORTERS)} (or a comma list)")
    if "none" in names:
        return ()
    return names


def metrics_exporters(env: Mapping[str, str]) -> tuple[str, ...]:
    """The push exporters OTEL_METRICS_EXPORTER names: ("otlp",) or none (the default, prometheus, is pull only).

    Not otlp by default even with an OTLP endpoint set: the observability profile's Jaeger takes spans only.
    """
    raw = env_str(env, "OTEL_METRICS_EXPORTER", "prometheus")
    names = tuple(dict.fromkeys(name.strip().lower() for name in raw.split(",") if name.strip()))
    unknown = [name for name in names if name not in METRICS_EXPORTERS]
    if unknown or not names:
        raise ConfigError(f"OTEL_METRICS_EXPORTER={raw!r}; use {', '.join(METRICS_EXPORTERS)} (or a comma list)")
    return ("otlp",) if "otlp" in names else ()


def otlp_protocol(env: Mapping[str, str], signal: str) -> str:
    """The OTLP protocol of a signal (traces, metrics): OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL, else the general one."""
    for name in (f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = env.get(name, "").strip().lower()
        if protocol:
            if protocol not in OTLP_PROTOCOLS:
                raise ConfigError(
                    f"{name}={protocol!r} is not supported; set it to grpc (port 4317) or http/protobuf (port 4318)"
                )
            return protocol
    return DEFAULT_OTLP_PROTOCOL


def sampler(env: Mapping[str, str]) -> sampling.Sampler:
    """The sampler OTEL_TRACES_SAMPLER names (default parentbased_always_on), with OTEL_TRACES_SAMPLER_ARG."""
    name = env_str(env, "OTEL_TRACES_SAMPLER", "parentbased_always_on").strip().lower()
    if name in FIXED_SAMPLERS:
        return FIXED_SAMPLERS[name]
    if name not in RATIO_SAMPLERS:
        known = ", ".join((*FIXED_SAMPLERS, *RATIO_SAMPLERS))
        raise ConfigError(f"OTEL_TRACES_SAMPLER={name!r} is not available; use one of {known}")
    raw = env_str(env, "OTEL_TRACES_SAMPLER_ARG", "1.0")
    try:
        rate = float(raw)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        raise ConfigError(f"OTEL_TRACES_SAMPLER_ARG={raw!r}; set it to the share of traces to keep, from 0 to 1")
    return RATIO_SAMPLERS[name](rate)
