"""gRPC interceptors that inject faults: in a service as calls arrive, in the gateway's client before they leave."""

from __future__ import annotations

import random
import time
from collections import namedtuple
from collections.abc import Callable
from typing import Any

import grpc

from purchase_lab.faults.engine import FaultInjector, Injection
from purchase_lab.faults.extract import facts_from_message
from purchase_lab.faults.occurrence import OCCURRENCE_METADATA_KEY, next_occurrence
from purchase_lab.faults.rpc_error import InjectedRpcError
from purchase_lab.faults.rules import UNREACHABLE
from purchase_lab.faults.watcher import RuleSource

# Only the lab's own services are faulted; health and reflection keep answering, so `purchase status`
# can still tell a sick dependency from a dead process.
LAB_METHOD_PREFIX = "/purchase."


def method_name(full_method: str | bytes) -> str | None:
    """'GetAdjustment' for '/purchase.pricing.v1.PricingService/GetAdjustment'; None outside the lab's services."""
    text = full_method.decode() if isinstance(full_method, bytes) else full_method
    return text.rsplit("/", 1)[-1] if text.startswith(LAB_METHOD_PREFIX) else None


class FaultServerInterceptor(grpc.ServerInterceptor):
    """Injects one service's server-side rules (for this replica) into its unary calls."""

    def __init__(
        self, service: str, source: RuleSource, replica: int | None = None, rng: random.Random | None = None
    ) -> None:
        self.injector = FaultInjector(service, "server", source, replica, rng)
        self._source = source

    def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None], details: Any
    ) -> grpc.RpcMethodHandler | None:
        """Call straight through unless a rule may fire on this method; then wrap the handler."""
        if not self._source.rules:
            return continuation(details)
        method = method_name(details.method)
        rules = self.injector.rules_for(method) if method else ()
        handler = continuation(details)
        if not rules or handler is None or handler.unary_unary is None:
            return handler
        behaviour = handler.unary_unary
        metadata = details.invocation_metadata

        def faulty(request: Any, context: grpc.ServicerContext) -> Any:
            injection = self.injector.choose(rules, method, lambda: facts_from_message(request, metadata))
            if injection is not None:
                _suffer_on_server(injection, context)
            return behaviour(request, context)

        return grpc.unary_unary_rpc_method_handler(
            faulty,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _suffer_on_server(injection: Injection, context: grpc.ServicerContext) -> None:
    """Sleep (never past the caller's deadline, so no worker waits for nobody), then abort if told to."""
    rule = injection.rule
    if injection.delay_s:
        remaining = context.time_remaining()
        if remaining is not None and remaining < injection.delay_s:
            time.sleep(max(remaining, 0))
            context.abort(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"{rule.details} (the added {injection.delay_s * 1000:.0f} ms outlasted the caller's deadline)",
            )
        time.sleep(injection.delay_s)
    if rule.error is not None:
        context.abort(grpc.StatusCode[str(rule.error)], rule.details)


class FaultClientInterceptor(grpc.UnaryUnaryClientInterceptor):
    """Injects the client-side rules for one downstream into the gateway's calls, before they leave."""

    def __init__(self, service: str, source: RuleSource, rng: random.Random | None = None) -> None:
        self.injector = FaultInjector(service, "client", source, None, rng)
        self._source = source

    def intercept_unary_unary(self, continuation: Callable[..., Any], client_call_details: Any, request: Any) -> Any:
        """Call straight through unless a rule fires; then delay, fail, or both, as the rule says.

        While any rule is active, each call carries its occurrence within the gateway's request, so
        server-side rules can pick one call of a method too (see occurrence.py).
        """
        method = method_name(client_call_details.method)
        occurrence = next_occurrence(self.injector.service, method) if method else None
        if not self._source.rules:
            return continuation(client_call_details, request)
        if occurrence is not None:
            client_call_details = _with_metadata(client_call_details, (OCCURRENCE_METADATA_KEY, str(occurrence)))
        rules = self.injector.rules_for(method) if method else ()
        if not rules:
            return continuation(client_call_details, request)
        injection = self.injector.choose(
            rules, method, lambda: facts_from_message(request, client_call_details.metadata, occurrence)
        )
        if injection is None:
            return continuation(client_call_details, request)
        return _suffer_on_client(injection, continuation, client_call_details, request)


def _suffer_on_client(injection: Injection, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
    """Sleep (never past the call's deadline), then fail the call or send it on with the deadline left."""
    rule = injection.rule
    timeout = details.timeout
    if injection.delay_s:
        if timeout is not None and injection.delay_s >= timeout:
            time.sleep(timeout)
            return InjectedRpcError(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"Deadline Exceeded ({rule.details}: {injection.delay_s * 1000:.0f} ms of latency "
                f"is longer than the call's {timeout * 1000:.0f} ms deadline)",
            )
        time.sleep(injection.delay_s)
        if timeout is not None:
            details = _CallDetails(
                details.method,
                timeout - injection.delay_s,
                details.metadata,
                details.credentials,
                details.wait_for_ready,
                details.compression,
            )
    if rule.error == UNREACHABLE:
        return InjectedRpcError(
            grpc.StatusCode.UNAVAILABLE,
            f"failed to connect to all addresses ({rule.details}: {injection.service} is unreachable)",
        )
    if rule.error is not None:
        return InjectedRpcError(grpc.StatusCode[str(rule.error)], rule.details)
    return continuation(details, request)


def _with_metadata(details: Any, pair: tuple[str, str]) -> Any:
    """The call's details with one more metadata pair."""
    return _CallDetails(
        details.method,
        details.timeout,
        (*(details.metadata or ()), pair),
        details.credentials,
        details.wait_for_ready,
        details.compression,
    )


class _CallDetails(
    namedtuple("_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")),
    grpc.ClientCallDetails,
):
    """The call's details with the deadline shortened by the latency already spent, or more metadata."""
