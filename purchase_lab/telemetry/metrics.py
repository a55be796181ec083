"""The lab's own instruments, in the `purchase.*` namespace, and the calls that record them.

HTTP requests per route come from the Flask instrumentation (`http.server.request.duration`); the
gRPC instrumentation records no metrics, so RED per RPC is ours. Prometheus names: dots become
underscores, the unit is appended, counters end in `_total` (see docs/observability.md).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from purchase_lab.releases import process_release

# Seconds: a local gRPC round trip takes about a millisecond, a deadline up to a few seconds.
DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

OK, ERROR, FALLBACK, SHORT_CIRCUITED = "ok", "error", "fallback", "short_circuited"
DEPENDENCY_OUTCOMES = (OK, ERROR, FALLBACK, SHORT_CIRCUITED)
FUNNEL_STAGES = ("eligible", "exposed", "succeeded", "failed")
# placed: an order, nothing degraded; degraded: an order, with a fallback; replayed: the order an
# Idempotency-Key already placed; failed: no order, a dependency failed (5xx); rejected: no order,
# the request itself was wrong or conflicted (4xx).
CHECKOUT_RESULTS = ("placed", "degraded", "replayed", "failed", "rejected")

RolloutReader = Callable[[], Mapping[str, float]]


class PurchaseMetrics:
    """Every `purchase.*` instrument of one process, created once from its meter."""

    def __init__(self, meter: Meter) -> None:
        self._meter = meter
        # The release this process runs, on every RED series: a canary is compared with its baseline by it.
        self.release = process_release()
        self.rpc_server_duration = meter.create_histogram(
            "purchase.rpc.server.duration",
            unit="s",
            description="gRPC calls served, by service, method and status code: rate, errors and duration",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.dependency_calls = meter.create_counter(
            "purchase.dependency.calls",
            unit="{call}",
            description="Calls to a dependency by outcome: ok, error, fallback (failed, a fallback ran), "
            "short_circuited (not made: the breaker was open)",
        )
        self.dependency_duration = meter.create_histogram(
            "purchase.dependency.duration",
            unit="s",
            description="How long calls to a dependency took, as the caller saw them",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.flag_evaluations = meter.create_counter(
            "purchase.flag.evaluations",
            unit="{evaluation}",
            description="Feature flag evaluations by flag, variant and reason",
        )
        self.funnel = meter.create_counter(
            "purchase.feature.funnel",
            unit="{user}",
            description="A feature's funnel per flag variant: eligible, exposed, succeeded, failed",
        )
        self.checkouts = meter.create_counter(
            "purchase.checkouts", unit="{checkout}", description="Checkouts by result and fallbacks variant"
        )
        self.faults_injected = meter.create_counter(
            "purchase.faults.injected", unit="{fault}", description="Faults the lab injected, by service and side"
        )

    def record_rpc(self, service: str, method: str, status: str, seconds: float) -> None:
        """One gRPC call served: its service (full name), method, status code name and duration."""
        self.rpc_server_duration.record(
            seconds,
            {"rpc.service": service, "rpc.method": method, "rpc.response.status_code": status, "release": self.release},
        )

    def dependency_call(self, dependency: str, method: str) -> DependencyCall:
        """A context for one call to a dependency; see DependencyCall."""
        return DependencyCall(self, dependency, method)

    def record_dependency_call(self, dependency: str, method: str, outcome: str, seconds: float) -> None:
        """One call to a dependency and its outcome (one of DEPENDENCY_OUTCOMES)."""
        if outcome not in DEPENDENCY_OUTCOMES:
            raise ValueError(f"dependency outcome {outcome!r} is unknown; use one of {', '.join(DEPENDENCY_OUTCOMES)}")
        attributes = {"dependency": dependency, "method": method, "outcome": outcome}
        self.dependency_calls.add(1, attributes)
        if outcome != SHORT_CIRCUITED:
            self.dependency_duration.record(seconds, attributes)

    def record_flag_evaluation(self, flag: str, variant: str, reason: str) -> None:
        """One evaluation of a flag and the variant it gave (reason: static, targeting_match, split, error...)."""
        self.flag_evaluations.add(1, {"flag": flag, "variant": variant, "reason": reason})

    def record_funnel(self, feature: str, variant: str, stage: str) -> None:
        """A user reached a stage of a feature's funnel (one of FUNNEL_STAGES) under a flag variant.

        feature is the key of the flag that gates it, so the funnel lines up with the flag's ramp.
        """
        if stage not in FUNNEL_STAGES:
            raise ValueError(f"funnel stage {stage!r} is unknown; use one of {', '.join(FUNNEL_STAGES)}")
        self.funnel.add(1, {"feature": feature, "variant": variant, "stage": stage})

    def record_checkout(self, result: str, fallbacks: str) -> None:
        """One checkout's result (one of CHECKOUT_RESULTS) and the user's checkout.fallbacks variant."""
        if result not in CHECKOUT_RESULTS:
            raise ValueError(f"checkout result {result!r} is unknown; use one of {', '.join(CHECKOUT_RESULTS)}")
        self.checkouts.add(1, {"result": result, "fallbacks": fallbacks})

    def record_fault(self, service: str, side: str, method: str, error: str) -> None:
        """One injected fault: where it fired and what it did (a status name, an HTTP code, or 'latency')."""
        self.faults_injected.add(1, {"service": service, "side": side, "method": method, "error": error})

    def observe_rollouts(self, read: RolloutReader) -> None:
        """Report each flag's ramp percentage (read() -> {flag: percent}) as `purchase.flag.rollout`."""

        def observe(_options: CallbackOptions) -> Iterable[Observation]:
            return [Observation(percent, {"flag": flag}) for flag, percent in read().items()]

        self._meter.create_observable_gauge(
            "purchase.flag.rollout",
            callbacks=[observe],
            unit="%",
            description="The share of users (besides employees and named users) a flag is ramped to",
        )


# The call being recorded in this thread (or task), so that a context opened inside it joins it.
_open_call: contextvars.ContextVar[DependencyCall | None] = contextvars.ContextVar("dependency_call", default=None)


class DependencyCall:
    """One call to a dependency, recorded once with its outcome when the outermost context exits.

    Exiting normally records ok, by an exception records error, unless the code inside said
    `answered()`, `fallback()` or `short_circuited()`. A context opened inside another for the same dependency
    and method joins it, so the code that owns the fallback (the checkout) can wrap the code that
    makes the call (the dependency's client) and the call is counted once, with the final outcome.
    """

    def __init__(self, metrics: PurchaseMetrics, dependency: str, method: str) -> None:
        self._metrics = metrics
        self.dependency = dependency
        self.method = method
        self.outcome: str | None = None
        self._outer: DependencyCall | None = None
        self._token: contextvars.Token[DependencyCall | None] | None = None
        self._started = 0.0

    def answered(self) -> None:
        """The dependency answered with an error of its contract (NOT_FOUND for an unknown SKU): count it ok."""
        self._target().outcome = OK

    def fallback(self) -> None:
        """The call failed and a fallback ran instead: count it as fallback, not error."""
        self._target().outcome = FALLBACK

    def short_circuited(self) -> None:
        """The breaker was open, so the call was never made."""
        self._target().outcome = SHORT_CIRCUITED

    def __enter__(self) -> DependencyCall:
        current = _open_call.get()
        if current is not None and (current.dependency, current.method) == (self.dependency, self.method):
            self._outer = current
            return self
        self._token = _open_call.set(self)
        self._started = time.perf_counter()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        target = self._target()
        if exc_type is not None and target.outcome is None:
            target.outcome = ERROR
        if self._token is None:
            return  # an inner context: the outermost one records the call
        _open_call.reset(self._token)
        seconds = time.perf_counter() - self._started
        self._metrics.record_dependency_call(self.dependency, self.method, self.outcome or OK, seconds)

    def _target(self) -> DependencyCall:
        return self._outer if self._outer is not None else self
