"""A miniature of the lab for telemetry tests: a pricing server that reads Redis, and a Flask shop calling it.

Both are wired exactly as the services are: the telemetry's interceptors first on the server, the
fault interceptor after them, the client channel instrumented last, the Flask app instrumented.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
import redis
from flask import Flask, jsonify, request
from purchase.pricing.v1 import pricing_pb2, pricing_pb2_grpc

from purchase_lab.faults import FaultServerInterceptor, StaticRules
from purchase_lab.flags import CHECKOUT_FALLBACKS, FeatureFlags, UserContext
from purchase_lab.grpc_server import create_server
from purchase_lab.ports import free_port
from purchase_lab.telemetry import Telemetry, spans
from purchase_lab.telemetry.hooks import fault_listener
from purchase_lab.telemetry.instrument import grpc_server_interceptors, instrument_channel, instrument_flask

PRICING_SERVICE = pricing_pb2.DESCRIPTOR.services_by_name["PricingService"].full_name
GET_ADJUSTMENT = f"/{PRICING_SERVICE}/GetAdjustment"


class RedisPricing(pricing_pb2_grpc.PricingServiceServicer):
    """GetAdjustment reads the user's discount from Redis; an unknown user is NOT_FOUND."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def GetAdjustment(self, request: pricing_pb2.GetAdjustmentRequest, context: grpc.ServicerContext):
        reason = self.client.get(f"discount:{request.user_id}")
        if reason is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no discount for user {request.user_id}")
        return pricing_pb2.GetAdjustmentResponse(reason=reason.decode())


@dataclass
class Pricing:
    """The running pricing server, its fault rules, and an instrumented stub to call it."""

    server: grpc.Server
    channel: grpc.Channel
    stub: pricing_pb2_grpc.PricingServiceStub
    rules: StaticRules

    def stop(self) -> None:
        """Close the channel and stop the server at once."""
        self.channel.close()
        self.server.stop(None)


def start_pricing(telemetry: Telemetry, client: redis.Redis) -> Pricing:
    """Start the pricing server on a free port with telemetry and a fault interceptor that reports to it."""
    rules = StaticRules()
    faults = FaultServerInterceptor("pricing", rules, replica=1)
    faults.injector.listeners.append(fault_listener(telemetry.metrics))
    server, port, _health = create_server(
        f"127.0.0.1:{free_port()}",
        lambda server: pricing_pb2_grpc.add_PricingServiceServicer_to_server(RedisPricing(client), server),
        [PRICING_SERVICE],
        interceptors=[*grpc_server_interceptors(telemetry), faults],
        max_workers=4,
    )
    server.start()
    channel = instrument_channel(grpc.insecure_channel(f"127.0.0.1:{port}"), telemetry)
    return Pricing(server, channel, pricing_pb2_grpc.PricingServiceStub(channel), rules)


def create_shop(telemetry: Telemetry, pricing: Pricing, flags: FeatureFlags) -> Flask:
    """POST /checkout: evaluate the user's flag, ask pricing for a discount, fall back to none if it fails."""
    app = Flask(__name__)
    instrument_flask(app, telemetry)

    @app.post("/checkout")
    def checkout():
        user = UserContext(request.headers["X-User-Id"])
        spans.record_user(user.user_id)
        flags.is_enabled(CHECKOUT_FALLBACKS, user)
        with telemetry.metrics.dependency_call("pricing", "GetAdjustment") as call:
            try:
                reason = pricing.stub.GetAdjustment(
                    pricing_pb2.GetAdjustmentRequest(user_id=user.user_id), timeout=2
                ).reason
            except grpc.RpcError as error:
                call.fallback()
                spans.record_degradation("pricing", "no_adjustment", error.code().name)
                reason = "none"
        return jsonify({"discount": reason})

    return app
