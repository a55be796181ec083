"""The gateway's metric series, created at 0 in each worker as it starts (see docs/observability.md)."""

from __future__ import annotations

from purchase_lab.flags import LOYALTY_DISCOUNT
from purchase_lab.telemetry import PurchaseMetrics
from services.gateway.downstreams import CONTRACTS
from services.gateway.email_queue import EMAIL_KINDS


def declare_series(metrics: PurchaseMetrics) -> None:
    """Add 0 to every series the dashboard and rollout decisions read, so each exists before its first event.

    (The flag evaluations are created by the flag hooks, in every process that evaluates flags.)

    Without this a series is born at its first increment, which Prometheus never sees as an increase,
    and a cohort with no failures has no failure series at all, hiding the comparison it is for.
    """
    metrics.declare_checkouts()
    metrics.declare_funnel(LOYALTY_DISCOUNT)
    relay_methods = {method for method, _request in EMAIL_KINDS.values()}
    for name, contract in CONTRACTS.items():
        metrics.declare_dependency(
            name,
            contract.service.methods_by_name,
            breaker_methods=contract.breaker_methods,
            # The checkout's soft calls are the ones behind a breaker: each has a fallback.
            soft_methods=contract.breaker_methods,
            relay_methods=relay_methods if name == "email" else (),
        )
