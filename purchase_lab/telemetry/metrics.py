"""The lab's own instruments, in the `purchase.*` namespace, and the calls that record them.

HTTP requests per route come from the Flask instrumentation (`http.server.request.duration`); the
gRPC instrumentation records no metrics, so RED per RPC is ours. Prometheus names: dots become
underscores, the unit is appended, counters end in `_total` (see docs/observability.md).
The `declare_*` methods create the series panels and rollout decisions read at 0 when a process starts.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from purchase_lab.releases import process_release

# Seconds. A local gRPC call is served in 50 to 500 µs and makes its round trip in about a millisecond;
# a deadline is up to a few seconds. Buckets below a millisecond, so the fastest calls' p95 is measured.
DURATION_BUCKETS = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.00075,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

# What happened to a call to a dependency: it answered (ok), it failed (error), or the breaker refused it.
OK, ERROR, SHORT_CIRCUITED = "ok", "error", "short_circuited"
DEPENDENCY_OUTCOMES = (OK, ERROR, SHORT_CIRCUITED)
# Who made it: code serving a request (the shop, the checkout), or the gateway's background email relay.
REQUEST, RELAY = "request", "relay"
CALLERS = (REQUEST, RELAY)
# Why a soft dependency's fallback ran: its call failed, or its breaker refused the call.
FALLBACK_CAUSES = (ERROR, SHORT_CIRCUITED)
FUNNEL_STAGES = ("eligible", "exposed", "succeeded", "failed")
# placed: an order, nothing degraded; degraded: an order, with a fallback; replayed: the order an
# Idempotency-Key already placed; failed: no order, a dependency failed (5xx); rejected: no order,
# the request itself was wrong or conflicted (4xx).
CHECKOUT_RESULTS = ("placed", "degraded", "replayed", "failed", "rejected")
# The variants of the lab's boolean flags, the only ones there are.
VARIANTS = ("on", "off")
RPC_SYSTEM = "grpc"
# The status codes that say the service failed; the others (NOT_FOUND, INVALID_ARGUMENT...) are answers.
SERVER_FAILURES = (
    "UNKNOWN",
    "DEADLINE_EXCEEDED",
    "RESOURCE_EXHAUSTED",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
)

RolloutReader = Callable[[], Mapping[str, float]]


class PurchaseMetrics:
    """Every `purchase.*` instrument of one process, created once from its meter.

    A counter's series appears when it is first added to; `declare_*` adds 0 to every series a panel
    or a rollout decision reads, at start, so that rate() sees the first event and both variants exist.
    """

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
        self.rpc_server_calls = meter.create_counter(
            "purchase.rpc.server.calls",
            unit="{call}",
            description="gRPC calls served, by service, method and status code: created at 0 for OK and every "
            "server failure, so an error rate counts the first error",
        )
        self.dependency_calls = meter.create_counter(
            "purchase.dependency.calls",
            unit="{call}",
            description="Calls to a dependency by caller (request, relay) and outcome: ok, error, "
            "short_circuited (not made: the breaker was open)",
        )
        self.dependency_fallbacks = meter.create_counter(
            "purchase.dependency.fallbacks",
            unit="{fallback}",
            description="Fallbacks that ran for a soft dependency's call, by cause: error (the call failed) "
            "or short_circuited (the breaker refused it)",
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
        attributes = rpc_attributes(service, method, status, self.release)
        self.rpc_server_calls.add(1, attributes)
        self.rpc_server_duration.record(seconds, attributes)

    def declare_rpcs(self, service: str, methods: Iterable[str]) -> None:
        """Create a served service's call series at 0: each method, OK and each server failure."""
        for method in methods:
            for status in ("OK", *SERVER_FAILURES):
                self.rpc_server_calls.add(0, rpc_attributes(service, method, status, self.release))

    def dependency_call(self, dependency: str, method: str) -> DependencyCall:
        """A context for one call to a dependency; see DependencyCall."""
        return DependencyCall(self, dependency, method)

    def record_dependency_call(
        self, dependency: str, method: str, outcome: str, seconds: float, caller: str = REQUEST
    ) -> None:
        """One call to a dependency, who made it (one of CALLERS) and its outcome (one of DEPENDENCY_OUTCOMES)."""
        _check("dependency outcome", outcome, DEPENDENCY_OUTCOMES)
        _check("caller", caller, CALLERS)
        attributes = {"dependency": dependency, "method": method, "caller": caller, "outcome": outcome}
        self.dependency_calls.add(1, attributes)
        if outcome != SHORT_CIRCUITED:
            self.dependency_duration.record(seconds, attributes)

    def record_fallback(self, dependency: str, method: str, cause: str) -> None:
        """A soft dependency's fallback ran for a call, because it failed or its breaker refused it (cause)."""
        _check("fallback cause", cause, FALLBACK_CAUSES)
        self.dependency_fallbacks.add(1, {"dependency": dependency, "method": method, "cause": cause})

    def record_flag_evaluation(self, flag: str, variant: str, reason: str) -> None:
        """One evaluation of a flag and the variant it gave (reason: static, targeting_match, split, error...)."""
        self.flag_evaluations.add(1, {"flag": flag, "variant": variant, "reason": reason})

    def record_funnel(self, feature: str, variant: str, stage: str) -> None:
        """A user reached a stage of a feature's funnel (one of FUNNEL_STAGES) under a flag variant.

        feature is the key of the flag that gates it, so the funnel lines up with the flag's ramp.
        """
        _check("funnel stage", stage, FUNNEL_STAGES)
        self.funnel.add(1, {"feature": feature, "variant": variant, "stage": stage})

    def record_checkout(self, result: str, fallbacks: str) -> None:
        """One checkout's result (one of CHECKOUT_RESULTS) and the user's checkout.fallbacks variant."""
        _check("checkout result", result, CHECKOUT_RESULTS)
        self.checkouts.add(1, {"result": result, "fallbacks": fallbacks})

    def record_fault(self, service: str, side: str, method: str, error: str) -> None:
        """One injected fault: where it fired and what it did (a status name, an HTTP code, or 'latency')."""
        self.faults_injected.add(1, {"service": service, "side": side, "method": method, "error": error})

    def declare_checkouts(self) -> None:
        """Create every checkout series at 0: each result, for both checkout.fallbacks variants."""
        for result in CHECKOUT_RESULTS:
            for variant in VARIANTS:
                self.checkouts.add(0, {"result": result, "fallbacks": variant})

    def declare_funnel(self, feature: str) -> None:
        """Create a feature's funnel at 0: each stage, for both variants of the flag that gates it."""
        for variant in VARIANTS:
            for stage in FUNNEL_STAGES:
                self.funnel.add(0, {"feature": feature, "variant": variant, "stage": stage})

    def declare_flag(self, flag: str, reasons: Iterable[str]) -> None:
        """Create a flag's evaluation series at 0: both variants, for each reason its evaluations can give."""
        for reason in reasons:
            for variant in VARIANTS:
                self.flag_evaluations.add(0, {"flag": flag, "variant": variant, "reason": reason})

    def declare_dependency(
        self,
        dependency: str,
        methods: Iterable[str],
        *,
        breaker_methods: Iterable[str] = (),
        soft_methods: Iterable[str] = (),
        relay_methods: Iterable[str] = (),
    ) -> None:
        """Create a dependency's call and fallback series at 0, method by method.

        Every method gets ok and error; those behind a breaker also short_circuited; soft ones (with a
        fallback) their fallback causes; the ones the email relay sends also the relay's calls.
        """
        breaker_methods, soft_methods, relay_methods = set(breaker_methods), set(soft_methods), set(relay_methods)
        for method in methods:
            outcomes = DEPENDENCY_OUTCOMES if method in breaker_methods else (OK, ERROR)
            callers = CALLERS if method in relay_methods else (REQUEST,)
            for caller in callers:
                for outcome in outcomes:
                    attributes = {"dependency": dependency, "method": method, "caller": caller, "outcome": outcome}
                    self.dependency_calls.add(0, attributes)
            if method in soft_methods:
                for cause in FALLBACK_CAUSES if method in breaker_methods else (ERROR,):
                    self.dependency_fallbacks.add(0, {"dependency": dependency, "method": method, "cause": cause})

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


def rpc_attributes(service: str, method: str, status: str, release: str) -> dict[str, str]:
    """The attributes of one RPC's RED metrics: the one place that says which labels they carry.

    The release lets a canary's calls be compared with its baseline's (docs/releases.md).
    """
    return {
        "rpc.system": RPC_SYSTEM,
        "rpc.service": service,
        "rpc.method": method,
        "rpc.response.status_code": status,
        "release": release,
    }


def _check(what: str, value: str, known: tuple[str, ...]) -> None:
    if value not in known:
        raise ValueError(f"{what} {value!r} is unknown; use one of {', '.join(known)}")


# The call being recorded in this thread (or task), so that a context opened inside it joins it.
_open_call: contextvars.ContextVar[DependencyCall | None] = contextvars.ContextVar("dependency_call", default=None)
# Who is making calls in this thread: code serving a request unless calls_by() says otherwise.
_caller: contextvars.ContextVar[str] = contextvars.ContextVar("dependency_caller", default=REQUEST)


@contextlib.contextmanager
def calls_by(caller: str) -> Iterator[None]:
    """Count the dependency calls made inside as made by caller (one of CALLERS): `with calls_by(RELAY):`."""
    _check("caller", caller, CALLERS)
    token = _caller.set(caller)
    try:
        yield
    finally:
        _caller.reset(token)


class DependencyCall:
    """One call to a dependency, recorded once with its outcome when the outermost context exits.

    Exiting normally records ok, by an exception records error, unless the code inside said
    `answered()` or `short_circuited()`. `fallback()` also counts a fallback for it, caused by the
    error or by the breaker. A context opened inside another for the same dependency and method
    joins it, so the code that owns the fallback (the checkout) can wrap the code that makes the
    call (the dependency's client) and the call is counted once, with the final outcome.
    """

    def __init__(self, metrics: PurchaseMetrics, dependency: str, method: str) -> None:
        self._metrics = metrics
        self.dependency = dependency
        self.method = method
        self.caller = _caller.get()
        self.outcome: str | None = None
        self.fell_back = False
        self._outer: DependencyCall | None = None
        self._token: contextvars.Token[DependencyCall | None] | None = None
        self._started = 0.0

    def answered(self) -> None:
        """The dependency answered with an error of its contract (NOT_FOUND for an unknown SKU): count it ok."""
        self._target().outcome = OK

    def fallback(self) -> None:
        """The call failed or was refused, and a fallback ran instead: count the fallback too."""
        self._target().fell_back = True

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
        # A fallback with no outcome yet: the call never started (the time budget had run out), a failure too.
        outcome = self.outcome or (ERROR if self.fell_back else OK)
        self._metrics.record_dependency_call(self.dependency, self.method, outcome, seconds, self.caller)
        if self.fell_back:
            self._metrics.record_fallback(self.dependency, self.method, outcome if outcome != OK else ERROR)

    def _target(self) -> DependencyCall:
        return self._outer if self._outer is not None else self
