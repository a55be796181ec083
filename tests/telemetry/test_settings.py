"""Telemetry reads the standard OTEL_* variables, and a bad value fails at start saying what to set."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import sampling

from purchase_lab.config import ConfigError
from purchase_lab.telemetry import TelemetrySettings

pytestmark = pytest.mark.unit


def test_defaults_trace_everything_and_export_nowhere_until_told_where() -> None:
    settings = TelemetrySettings.from_env("cart", {})

    assert settings.enabled
    assert settings.service_name == "cart"
    assert settings.traces_exporters == ()
    assert settings.sampler.get_description() == sampling.ParentBased(sampling.ALWAYS_ON).get_description()
    assert settings.metrics_port == 9461


def test_an_otlp_endpoint_turns_on_the_otlp_exporter() -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4317", "OTEL_SERVICE_NAME": "cart-2"}

    settings = TelemetrySettings.from_env("cart", env)

    assert settings.traces_exporters == ("otlp",)
    assert settings.service_name == "cart-2"


def test_the_standard_variables_choose_exporter_sampler_and_port() -> None:
    env = {
        "OTEL_TRACES_EXPORTER": "console,otlp",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.25",
        "PURCHASE_PRICING_METRICS_PORT": "0",
    }

    settings = TelemetrySettings.from_env("pricing", env)

    assert settings.traces_exporters == ("console", "otlp")
    assert "0.25" in settings.sampler.get_description()
    assert settings.metrics_port == 0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OTEL_SDK_DISABLED": "yes"}, "OTEL_SDK_DISABLED='yes'; set it to true or false"),
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER='zipkin'; use otlp, console, none"),
        ({"OTEL_TRACES_SAMPLER": "xray"}, "OTEL_TRACES_SAMPLER='xray' is not available; use one of always_on"),
        (
            {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "10%"},
            "OTEL_TRACES_SAMPLER_ARG='10%'; set it to the share of traces to keep, from 0 to 1",
        ),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
            "OTEL_EXPORTER_OTLP_PROTOCOL='http/json' is not supported; set it to grpc .port 4317. or http/protobuf",
        ),
        ({"OTEL_METRICS_EXPORTER": "statsd"}, "OTEL_METRICS_EXPORTER='statsd'; use otlp, prometheus, none"),
        ({"PURCHASE_EMAIL_METRICS_PORT": "70000"}, "PURCHASE_EMAIL_METRICS_PORT=70000 is out of range"),
    ],
)
def test_a_bad_value_fails_naming_the_variable_and_what_to_set(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        TelemetrySettings.from_env("email", env)


@pytest.mark.parametrize(
    ("env", "traces", "metrics"),
    [
        ({}, "grpc", "grpc"),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, "http/protobuf", "http/protobuf"),
        (
            {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/protobuf"},
            "grpc",
            "http/protobuf",
        ),
        ({"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, "http/protobuf", "grpc"),
    ],
)
def test_each_signal_takes_its_own_protocol_or_the_general_one(env: dict[str, str], traces: str, metrics: str) -> None:
    settings = TelemetrySettings.from_env("cart", env)

    assert (settings.traces_protocol, settings.metrics_protocol) == (traces, metrics)


def test_metrics_are_pushed_over_otlp_only_when_asked() -> None:
    assert TelemetrySettings.from_env("cart", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4317"}).metrics_exporters == ()
    assert TelemetrySettings.from_env("cart", {"OTEL_METRICS_EXPORTER": "otlp"}).metrics_exporters == ("otlp",)
