"""A gateway worker's /metrics shows every series a panel or a rollout decision reads at 0, before any traffic."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from purchase_lab.flags import LOYALTY_DISCOUNT
from purchase_lab.telemetry import Telemetry, setup_telemetry
from purchase_lab.telemetry.metrics import CHECKOUT_RESULTS, FUNNEL_STAGES

pytestmark = pytest.mark.functional


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    recording = setup_telemetry("gateway", {}, set_global=False)
    yield recording
    recording.shutdown()


def zeros(text: str, name: str, *keys: str) -> set[tuple[str, ...]]:
    """The label values (keys) of every sample called name whose value is 0."""
    return {
        tuple(sample.labels[key] for key in keys)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and sample.value == 0
    }


def test_a_fresh_gateway_shows_checkouts_funnel_and_dependency_calls_at_zero(
    make_app: Callable[..., Flask], telemetry: Telemetry
) -> None:
    answer = make_app(telemetry=telemetry).test_client().get("/metrics")

    assert answer.status_code == 200
    assert answer.headers.getlist("Content-Type") == ["text/plain; version=0.0.4; charset=utf-8"]
    text = answer.get_data(as_text=True)
    assert zeros(text, "purchase_checkouts_total", "result", "fallbacks") == {
        (result, variant) for result in CHECKOUT_RESULTS for variant in ("on", "off")
    }
    funnel = zeros(text, "purchase_feature_funnel_total", "feature", "variant", "stage")
    assert funnel == {(LOYALTY_DISCOUNT, variant, stage) for variant in ("on", "off") for stage in FUNNEL_STAGES}
    calls = zeros(text, "purchase_dependency_calls_total", "dependency", "method", "caller", "outcome")
    for outcome in ("ok", "error", "short_circuited"):
        assert ("pricing", "GetAdjustment", "request", outcome) in calls
        assert ("email", "SendDiscountEmail", "relay", outcome) in calls
    assert ("cart", "PlaceOrder", "request", "ok") in calls
    # Only soft calls have fallbacks, and only the email relay makes relay calls.
    assert zeros(text, "purchase_dependency_fallbacks_total", "dependency", "method", "cause") == {
        (dependency, method, cause)
        for dependency, method in (
            ("pricing", "GetAdjustment"),
            ("email", "SendOrderConfirmation"),
            ("email", "SendDiscountEmail"),
        )
        for cause in ("error", "short_circuited")
    }
    assert {dependency for dependency, _method, caller, _outcome in calls if caller == "relay"} == {"email"}
    evaluations = zeros(text, "purchase_flag_evaluations_total", "flag", "variant", "reason")
    assert {(LOYALTY_DISCOUNT, variant, "targeting_match") for variant in ("on", "off")} <= evaluations
