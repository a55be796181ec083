"""Record what a rollout problem needs on the current span: who the user is, which variants they got,
which fault was injected, and which fallback ran. Attributes live in the `purchase.*` namespace, so
Jaeger can find every trace where, say, `purchase.flag.pricing.loyalty_discount=on`.

Every helper is a no-op when there is no recording span (telemetry off, or the trace not sampled).
"""

from __future__ import annotations

from opentelemetry import trace

FLAG_PREFIX = "purchase.flag."
FALLBACK_PREFIX = "purchase.fallback."


def record_user(user_id: str) -> None:
    """The user the current operation is for, as the standard `enduser.id`."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute("enduser.id", user_id)


def record_flag_variant(flag: str, variant: str) -> None:
    """The variant of a flag this user got, as `purchase.flag.<flag>`."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute(FLAG_PREFIX + flag, variant)


def record_fault(fault_id: str, side: str, error: str, delay_ms: float) -> None:
    """A fault the lab injected into this call: which rule, on which side, what error, how much delay."""
    span = trace.get_current_span()
    if not span.is_recording():
        return
    attributes = {
        "purchase.fault.id": fault_id,
        "purchase.fault.side": side,
        "purchase.fault.error": error,
        "purchase.fault.delay_ms": round(delay_ms, 1),
    }
    span.set_attributes(attributes)
    span.add_event("purchase.fault.injected", attributes)


def record_degradation(dependency: str, fallback: str, error: str) -> None:
    """A dependency failed and the operation went on degraded: `purchase.degraded` and the fallback that ran."""
    span = trace.get_current_span()
    if not span.is_recording():
        return
    span.set_attribute("purchase.degraded", True)
    span.set_attribute(FALLBACK_PREFIX + dependency, fallback)
    span.add_event(
        "purchase.degradation",
        {"purchase.dependency": dependency, "purchase.fallback": fallback, "purchase.error": error},
    )
