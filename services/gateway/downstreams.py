"""The gateway's downstream services: one channel each, a deadline on every call, failures as domain errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import grpc
from google.protobuf.message import Message
from purchase.cart.v1 import cart_pb2, cart_pb2_grpc
from purchase.email.v1 import email_pb2, email_pb2_grpc
from purchase.pricing.v1 import pricing_pb2, pricing_pb2_grpc

from purchase_lab.config import Settings
from purchase_lab.faults import FaultClientInterceptor
from purchase_lab.faults.watcher import RuleSource
from purchase_lab.grpc_client import create_channel
from services.gateway.errors import DependencyError
from services.gateway.inputs import user_metadata

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


class Dependency:
    """One downstream service: its stub and deadline; a failed call raises DependencyError."""

    def __init__(self, name: str, channel: grpc.Channel, stub: Any, deadline_ms: int) -> None:
        self.name = name
        self.deadline_seconds = deadline_ms / 1000
        self._channel = channel
        self._stub = stub

    def call(
        self,
        method: str,
        request: Message,
        *,
        contract_errors: Mapping[grpc.StatusCode, Exception] | None = None,
        metadata: Sequence[tuple[str, str]] | None = None,
    ) -> Any:
        """Call method with this dependency's deadline.

        contract_errors gives the meaning of this call's contract errors in the caller's domain
        (NOT_FOUND from GetProduct is an unknown SKU); any other failure raises DependencyError.
        metadata defaults to the user of the request being served, so every service evaluates
        feature flags for the same user (see inputs.user_metadata).
        """
        if metadata is None:
            metadata = user_metadata()
        try:
            return getattr(self._stub, method)(request, timeout=self.deadline_seconds, metadata=metadata)
        except grpc.RpcError as error:
            status, details = error.code(), error.details() or ""
            meaning = (contract_errors or {}).get(status)
            if meaning is not None:
                raise meaning from error
            raise DependencyError(self.name, status, details) from error

    def close(self) -> None:
        """Close the channel; calls after this fail."""
        self._channel.close()


class Downstreams:
    """The services the gateway calls: cart, pricing and email."""

    def __init__(self, cart: Dependency, pricing: Dependency, email: Dependency) -> None:
        self.cart = cart
        self.pricing = pricing
        self.email = email

    @classmethod
    def from_settings(cls, settings: Settings, fault_rules: RuleSource | None = None) -> Downstreams:
        """Open a channel to each service at the targets and deadlines in settings.

        With fault_rules, each channel injects the client-side faults for its service (see docs/faults.md).
        """
        return cls(
            cart=_dependency(
                "cart",
                settings.cart_target,
                CART_SERVICE.full_name,
                CART_SAFE_METHODS,
                cart_pb2_grpc.CartServiceStub,
                settings.cart_deadline_ms,
                fault_rules,
            ),
            pricing=_dependency(
                "pricing",
                settings.pricing_target,
                PRICING_SERVICE.full_name,
                PRICING_SAFE_METHODS,
                pricing_pb2_grpc.PricingServiceStub,
                settings.pricing_deadline_ms,
                fault_rules,
            ),
            email=_dependency(
                "email",
                settings.email_target,
                EMAIL_SERVICE.full_name,
                EMAIL_SAFE_METHODS,
                email_pb2_grpc.EmailServiceStub,
                settings.email_deadline_ms,
                fault_rules,
            ),
        )

    def close(self) -> None:
        """Close every channel."""
        for dependency in (self.cart, self.pricing, self.email):
            dependency.close()


def _dependency(
    name: str,
    target: str,
    service: str,
    safe: tuple[str, ...],
    stub: Any,
    deadline_ms: int,
    fault_rules: RuleSource | None,
) -> Dependency:
    channel = create_channel(target, service, safe)
    if fault_rules is not None:
        channel = grpc.intercept_channel(channel, FaultClientInterceptor(name, fault_rules))
    return Dependency(name, channel, stub(channel), deadline_ms)
