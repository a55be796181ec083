"""Telemetry for the lab's control plane: flag evaluations (an OpenFeature hook), the ramp of each flag,
and injected faults (a FaultInjector listener).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from openfeature.contrib.hook.opentelemetry import TracingHook
from openfeature.flag_evaluation import FlagEvaluationDetails, Reason
from openfeature.hook import Hook, HookContext, HookHints

from purchase_lab.faults.engine import Injection
from purchase_lab.flags import FLAGS, FlagError, list_flags
from purchase_lab.telemetry import spans
from purchase_lab.telemetry.metrics import PurchaseMetrics, RolloutReader

log = logging.getLogger(__name__)

# The reasons an enabled flag's evaluation gives: its default variant (static) or a rule (a ramp,
# employees, named users). A killed flag serves the code default as variant "default", reason disabled.
LIVE_REASONS = ("static", "targeting_match")


class FlagMetricsHook(Hook):
    """Counts every evaluation by flag and variant, and puts the variant on the current span."""

    def __init__(self, metrics: PurchaseMetrics) -> None:
        self._metrics = metrics

    def finally_after(self, hook_context: HookContext, details: FlagEvaluationDetails, hints: HookHints) -> None:
        """After each evaluation, successful or not: the variant served ('default' when none was)."""
        variant = details.variant or "default"
        reason = str(details.reason or Reason.UNKNOWN).lower()
        self._metrics.record_flag_evaluation(details.flag_key, variant, reason)
        spans.record_flag_variant(details.flag_key, variant)


def flag_hooks(metrics: PurchaseMetrics) -> list[Hook]:
    """The hooks to add to a FeatureFlags client: OpenFeature's span event, and our metrics and attribute.

    Every flag's evaluation series are created at 0 here, for both variants and each reason a live
    flag gives, so the share of `on` is right from the first evaluation of a ramp.
    """
    for flag in FLAGS:
        metrics.declare_flag(flag, LIVE_REASONS)
    return [TracingHook(), FlagMetricsHook(metrics)]


def rollout_reader(live_path: Path | None = None) -> RolloutReader:
    """A reader of each flag's ramp from the live flags file: its percentage, 0 when killed.

    Flags with custom targeting have no percentage and are left out.
    """

    def read() -> dict[str, float]:
        percents: dict[str, float] = {}
        try:
            statuses = list_flags(live_path)
        except (FlagError, OSError):
            # A scrape must not fail because the flags file is being edited; the gauge skips a beat.
            log.warning("could not read the flags file for the rollout gauge", exc_info=True)
            return percents
        for status in statuses:
            if status.state == "DISABLED":
                percents[status.key] = 0.0
            elif status.rollout is not None:
                percents[status.key] = float(status.rollout.percent)
        return percents

    return read


def fault_listener(metrics: PurchaseMetrics) -> Callable[[Injection], None]:
    """A FaultInjector listener: count the fault and record it on the span of the call it hit."""

    def listen(injection: Injection) -> None:
        rule = injection.rule
        error = str(rule.error) if rule.error is not None else "latency"
        # At the gateway the "method" is an HTTP path, which may carry a SKU: keep the label bounded.
        method = "http" if injection.method.startswith("/") else injection.method
        metrics.record_fault(injection.service, injection.side, method, error)
        spans.record_fault(rule.id, injection.side, error, injection.delay_s * 1000)

    return listen
