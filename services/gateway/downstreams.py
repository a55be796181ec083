"""The gateway's downstream services: one channel each, a deadline on every call, failures as domain errors.

Every call has a deadline; a call made for a request with a time budget (the checkout) waits at most
what is left of it. The checkout's soft calls go through their dependency's circuit breaker, so a
dependency that keeps failing is not called at all until it has had time to recover.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message
from purchase.cart.v1 import cart_pb2, cart_pb2_grpc
from purchase.email.v1 import email_pb2, email_pb2_grpc
from purchase.pricing.v1 import pricing_pb2, pricing_pb2_grpc

from purchase_lab.breaker import BreakerOpen, CircuitBreaker
from purchase_lab.config import Settings
from purchase_lab.faults import FaultClientInterceptor
from purchase_lab.faults.watcher import RuleSource
from purchase_lab.grpc_client import create_channel
from purchase_lab.routing import RoutedChannel, RouteWatcher
from purchase_lab.telemetry import PurchaseMetrics, Telemetry
from purchase_lab.telemetry.hooks import fault_listener
from purchase_lab.telemetry.instrument import instrument_channel
from purchase_lab.telemetry.metrics import DependencyCall
from services.gateway.errors import CONTRACT_ERRORS, DependencyError
from services.gateway.inputs import user_metadata
from services.gateway.reconnect import Restarts

CART_SERVICE = cart_pb2.DESCRIPTOR.services_by_name["CartService"]
PRICING_SERVICE = pricing_pb2.DESCRIPTOR.services_by_name["PricingService"]
EMAIL_SERVICE = email_pb2.DESCRIPTOR.services_by_name["EmailService"]

# Calls that are safe to retry: reads, and writes that are idempotent by design (PlaceOrder on its
# key, the email sends per kind and order). AddItem is not: a retry could add the items twice.
CART_SAFE_METHODS = (
    "GetCart",
    "ListOrders",
    "SetPromoCode",
    "UpdateCart",
    "RemoveItem",
    "EmptyCart",
    "PlaceOrder",
    "CancelOrder",
)
PRICING_SAFE_METHODS = tuple(PRICING_SERVICE.methods_by_name)
EMAIL_SAFE_METHODS = tuple(EMAIL_SERVICE.methods_by_name)

# The checkout's soft calls, each behind its dependency's circuit breaker (one per dependency per worker).
# The shop's own pricing calls (the catalogue) are hard for the shop and are not behind it.
PRICING_BREAKER_METHODS = ("GetAdjustment",)
EMAIL_BREAKER_METHODS = ("SendOrderConfirmation", "SendDiscountEmail")


@dataclass(frozen=True)
class Contract:
    """How the gateway calls one service: its gRPC service, stub, retry-safe and breaker-guarded methods."""

    service: ServiceDescriptor
    stub: Callable[[grpc.Channel], Any]
    safe_methods: tuple[str, ...]
    breaker_methods: tuple[str, ...] = ()


CONTRACTS = {
    "cart": Contract(CART_SERVICE, cart_pb2_grpc.CartServiceStub, CART_SAFE_METHODS),
    "pricing": Contract(
        PRICING_SERVICE, pricing_pb2_grpc.PricingServiceStub, PRICING_SAFE_METHODS, PRICING_BREAKER_METHODS
    ),
    "email": Contract(EMAIL_SERVICE, email_pb2_grpc.EmailServiceStub, EMAIL_SAFE_METHODS, EMAIL_BREAKER_METHODS),
}

# What says a dependency is failing, and counts towards opening its breaker. Any other answer, a
# contract error such as NOT_FOUND included, shows it alive and answering.
BREAKER_FAILURES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.UNKNOWN,
    }
)

# Less time than this left in a budget is not worth a round trip: the call fails at once instead.
MIN_CALL_SECONDS = 0.005

# Instruments that record nothing, for a gateway built without telemetry (most tests).
NO_METRICS = Telemetry.disabled("gateway").metrics


class BudgetSpent(DependencyError):
    """A request's time budget ran out before, or during, this call."""

    reason = "BUDGET_EXHAUSTED"

    def __init__(self, dependency: str, method: str, budget_ms: int) -> None:
        super().__init__(
            dependency,
            grpc.StatusCode.DEADLINE_EXCEEDED,
            f"the request's {budget_ms} ms time budget ran out at {dependency}.{method}",
        )
        self.method = method
        self.budget_ms = budget_ms


class ShortCircuited(DependencyError):
    """The dependency's circuit breaker is open, so the call was not made."""

    reason = "BREAKER_OPEN"

    def __init__(self, dependency: str, method: str, retry_in: float) -> None:
        super().__init__(
            dependency,
            grpc.StatusCode.UNAVAILABLE,
            f"{dependency} has been failing, so its circuit breaker is open and {method} was not called "
            f"(the next call goes through in {retry_in:.1f} s)",
        )
        self.method = method
        self.retry_in = retry_in


def failure_reason(error: DependencyError) -> str:
    """Why a call failed, as responses name it: the gRPC status, or BREAKER_OPEN / BUDGET_EXHAUSTED."""
    return getattr(error, "reason", error.status.name)


class Budget:
    """The time one request may spend on all its downstream calls together."""

    def __init__(self, budget_ms: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.budget_ms = budget_ms
        self._clock = clock
        self._ends = clock() + budget_ms / 1000

    def remaining(self) -> float:
        """Seconds left, never below zero."""
        return max(0.0, self._ends - self._clock())

    def timeout(self, dependency: str, method: str, deadline: float) -> tuple[float, bool]:
        """The timeout of the next call, min(deadline, what is left), and whether the budget cut it.

        Raises BudgetSpent when too little is left to make the call at all.
        """
        left = self.remaining()
        if left < MIN_CALL_SECONDS:
            raise BudgetSpent(dependency, method, self.budget_ms)
        return (left, True) if left < deadline else (deadline, False)


class Dependency:
    """One downstream service: its stub, deadline and breaker; a failed call raises DependencyError."""

    def __init__(
        self,
        name: str,
        channel: grpc.Channel,
        stub: Any,
        deadline_ms: int,
        *,
        breaker: CircuitBreaker | None = None,
        breaker_methods: Sequence[str] = (),
        metrics: PurchaseMetrics = NO_METRICS,
        reconnect: Reconnect | None = None,
    ) -> None:
        self.name = name
        self.deadline_seconds = deadline_ms / 1000
        self.breaker = breaker
        self.breaker_methods = frozenset(breaker_methods)
        self.metrics = metrics
        self._channel = channel
        self._stub = stub
        self._reconnect = reconnect
        self._renewing = threading.Lock()

    def call(
        self,
        method: str,
        request: Message,
        *,
        budget: Budget | None = None,
        contract_errors: Mapping[grpc.StatusCode, Exception] | None = None,
        metadata: Sequence[tuple[str, str]] | None = None,
    ) -> Any:
        """Call method with this dependency's deadline, or what is left of budget when that is less.

        contract_errors gives the meaning of this call's contract errors in the caller's domain
        (NOT_FOUND from GetProduct is an unknown SKU); any other failure raises DependencyError:
        BudgetSpent when the budget ran out, ShortCircuited when the breaker refused the call.
        metadata defaults to the user of the request being served, so every service evaluates
        feature flags for the same user (see inputs.user_metadata).
        """
        if self._reconnect is not None and self._reconnect.restarts.happened():
            self._renew_channel()
        timeout, cut_by_budget = (
            budget.timeout(self.name, method, self.deadline_seconds) if budget else (self.deadline_seconds, False)
        )
        breaker = self.breaker if method in self.breaker_methods else None
        with self.metrics.dependency_call(self.name, method) as recorded:
            if breaker is not None:
                _pass(breaker, self.name, method, recorded)
            try:
                response = getattr(self._stub, method)(
                    request, timeout=timeout, metadata=user_metadata() if metadata is None else metadata
                )
            except grpc.RpcError as error:
                status = error.code()
                if breaker is not None:
                    _judge(breaker, status)
                if status in CONTRACT_ERRORS:
                    recorded.answered()
                    meaning = (contract_errors or {}).get(status)
                    if meaning is not None:
                        raise meaning from error
                if cut_by_budget and status is grpc.StatusCode.DEADLINE_EXCEEDED and budget is not None:
                    raise BudgetSpent(self.name, method, budget.budget_ms) from error
                raise DependencyError(self.name, status, error.details() or "") from error
            if breaker is not None:
                breaker.record_success()
            return response

    def _renew_channel(self) -> None:
        """Swap in a fresh channel (it connects on the next call); close the old one once its calls are done."""
        assert self._reconnect is not None
        with self._renewing:
            old = self._channel
            self._channel = self._reconnect.open()
            self._stub = self._reconnect.stub(self._channel)
        closer = threading.Timer(2 * self.deadline_seconds + 1, old.close)
        closer.daemon = True
        closer.start()

    def close(self) -> None:
        """Close the channel; calls after this fail."""
        self._channel.close()


@dataclass(frozen=True)
class Reconnect:
    """How a dependency notices that its service restarted, and opens a fresh channel and stub to it."""

    restarts: Restarts
    open: Callable[[], grpc.Channel]
    stub: Callable[[grpc.Channel], Any]


def _pass(breaker: CircuitBreaker, dependency: str, method: str, recorded: DependencyCall) -> None:
    """Let the call through the breaker, or raise ShortCircuited (counted as such) when it is open."""
    try:
        breaker.before_call()
    except BreakerOpen as refused:
        recorded.short_circuited()
        raise ShortCircuited(dependency, method, refused.retry_in) from refused


def _judge(breaker: CircuitBreaker, status: grpc.StatusCode) -> None:
    """Tell the breaker what a failed call says about the dependency: failing, or alive and answering."""
    if status in BREAKER_FAILURES:
        breaker.record_failure()
    else:
        breaker.record_success()


class Downstreams:
    """The services the gateway calls: cart, pricing and email."""

    def __init__(
        self, cart: Dependency, pricing: Dependency, email: Dependency, routes: RouteWatcher | None = None
    ) -> None:
        self.cart = cart
        self.pricing = pricing
        self.email = email
        # The deployer's routes (canary weights, blue-green switches) the channels follow; None when not followed.
        self.routes = routes

    @property
    def breakers(self) -> dict[str, CircuitBreaker]:
        """Each dependency's circuit breaker, for those that have one."""
        return {
            dependency.name: dependency.breaker
            for dependency in (self.cart, self.pricing, self.email)
            if dependency.breaker is not None
        }

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        fault_rules: RuleSource | None = None,
        telemetry: Telemetry | None = None,
        routes: RouteWatcher | None = None,
    ) -> Downstreams:
        """Open a channel to each service at the targets and deadlines in settings.

        With fault_rules, each channel injects the client-side faults for its service (see docs/faults.md).
        With telemetry, each call is a client span carrying the trace context; an injected fault shows on it.
        Pricing and email get a circuit breaker each, configured by settings.checkout.
        With routes, each call goes to the replica the deployer's routes pick (see purchase_lab/routing.py).
        """
        dependencies = {name: _dependency(name, settings, fault_rules, telemetry, routes) for name in CONTRACTS}
        return cls(**dependencies, routes=routes)

    def close(self) -> None:
        """Close every channel and stop following the routes."""
        for dependency in (self.cart, self.pricing, self.email):
            dependency.close()
        if self.routes is not None:
            self.routes.stop()


def _dependency(
    name: str,
    settings: Settings,
    fault_rules: RuleSource | None,
    telemetry: Telemetry | None = None,
    routes: RouteWatcher | None = None,
) -> Dependency:
    contract = CONTRACTS[name]
    breaker = _breaker(name, settings) if contract.breaker_methods else None

    def open_channel() -> grpc.Channel:
        channel = create_channel(getattr(settings, f"{name}_target"), contract.service.full_name, contract.safe_methods)
        if breaker is not None:
            _half_open_when_healthy(channel, breaker)
        if routes is not None:
            channel = RoutedChannel(
                name,
                channel,
                routes,
                lambda address: create_channel(address, contract.service.full_name, contract.safe_methods),
            )
        if fault_rules is not None:
            faults = FaultClientInterceptor(name, fault_rules)
            if telemetry is not None and telemetry.enabled:
                faults.injector.listeners.append(fault_listener(telemetry.metrics))
            channel = grpc.intercept_channel(channel, faults)
        if telemetry is not None:
            # Last, so the client span is outermost: it covers the call's retries and any injected fault.
            channel = instrument_channel(channel, telemetry)
        return channel

    channel = open_channel()
    return Dependency(
        name,
        channel,
        contract.stub(channel),
        getattr(settings, f"{name}_deadline_ms"),
        breaker=breaker,
        breaker_methods=contract.breaker_methods,
        metrics=telemetry.metrics if telemetry is not None else NO_METRICS,
        reconnect=Reconnect(Restarts(name), open_channel, contract.stub),
    )


def _half_open_when_healthy(channel: grpc.Channel, breaker: CircuitBreaker) -> None:
    """Half-open the breaker as soon as the channel is READY again.

    The channel checks the service's health (purchase_lab/grpc_client.py), so READY means a replica
    answers SERVING. Subscribing with try_to_connect keeps the channel reconnecting while the open
    breaker makes no calls, so a restart is seen within the channel's reconnect backoff.
    """

    def on_change(state: grpc.ChannelConnectivity) -> None:
        if state is grpc.ChannelConnectivity.READY:
            breaker.dependency_healthy()

    channel.subscribe(on_change, try_to_connect=True)


def _breaker(name: str, settings: Settings) -> CircuitBreaker:
    return CircuitBreaker(
        name,
        failure_threshold=settings.checkout.breaker_failures,
        open_seconds=settings.checkout.breaker_open_ms / 1000,
    )
