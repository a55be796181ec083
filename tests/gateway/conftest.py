"""Fixtures for the gateway's functional tests: contract fakes on real gRPC servers, a real Redis, the app."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc
import pytest
import redis
from flask import Flask, Response, request
from flask.testing import FlaskClient
from google.protobuf.descriptor import ServiceDescriptor
from purchase.cart.v1 import cart_pb2_grpc
from purchase.email.v1 import email_pb2_grpc
from purchase.pricing.v1 import pricing_pb2_grpc
from werkzeug.test import TestResponse

from purchase_lab.config import Settings
from purchase_lab.drift.record import Recorder
from purchase_lab.grpc_server import create_server
from purchase_lab.ports import free_port
from purchase_lab.telemetry import Telemetry
from services.gateway.app import create_app
from services.gateway.downstreams import CART_SERVICE, EMAIL_SERVICE, PRICING_SERVICE
from services.gateway.resources import EXTENSION, Gateway
from tests.conftest import Lab
from tests.gateway.fake_cart import FakeCart
from tests.gateway.fakes import FakeEmail, FakePricing


@dataclass
class Fakes:
    """The three fakes and where they listen."""

    cart: FakeCart
    pricing: FakePricing
    email: FakeEmail
    targets: dict[str, str]


@pytest.fixture(scope="session")
def fake_servers() -> Iterator[dict[str, tuple]]:
    """One real gRPC server per dependency, each serving a servicer that a test's fake replaces."""
    servers = {}
    for name, add, service in (
        ("cart", cart_pb2_grpc.add_CartServiceServicer_to_server, CART_SERVICE),
        ("pricing", pricing_pb2_grpc.add_PricingServiceServicer_to_server, PRICING_SERVICE),
        ("email", email_pb2_grpc.add_EmailServiceServicer_to_server, EMAIL_SERVICE),
    ):
        holder = Delegate(service)
        server, port, _health = create_server(
            f"127.0.0.1:{free_port()}", lambda s, add=add, holder=holder: add(holder, s), [service.full_name]
        )
        server.start()
        servers[name] = (server, f"127.0.0.1:{port}", holder)
    yield servers
    for server, _target, _holder in servers.values():
        server.stop(None)


class Delegate:
    """Forwards every RPC of a service to the current test's fake, so servers start once per session."""

    def __init__(self, service: ServiceDescriptor) -> None:
        self.fake: object = None
        self.name = service.full_name.split(".")[1]
        # `make drift` records what each fake answered (see purchase_lab/drift/record.py).
        self.recorder = Recorder.from_env()
        for method in service.methods_by_name:
            setattr(self, method, functools.partial(self._forward, method))

    def _forward(self, method: str, request: object, context: grpc.ServicerContext) -> object:
        if self.recorder is None:
            return getattr(self.fake, method)(request, context)
        # A failure or delay the test asked for is a negative case, not the contract; a test's own
        # servicer may have no Faults, and then nothing it answers was injected.
        faults = getattr(self.fake, "faults", None)
        failures, delays = getattr(faults, "failures", {}), getattr(faults, "delays", {})
        injected = "failure" if failures.get(method) or failures.get("*") else "delay" if delays.get(method) else ""
        answer = None
        try:
            answer = getattr(self.fake, method)(request, context)
            return answer
        finally:
            self.recorder.call(self.name, method, request, context, answer, injected)


@pytest.fixture
def fakes(fake_servers: dict[str, tuple]) -> Fakes:
    """Fresh fakes, with empty state and no faults, behind the session's servers."""
    made = Fakes(FakeCart(), FakePricing(), FakeEmail(), {})
    for name, (_server, target, holder) in fake_servers.items():
        holder.fake = getattr(made, name)
        made.targets[name] = target
    return made


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis for the email queue, started once."""
    lab = Lab(tmp_path_factory.mktemp("gateway-redis")).start("redis")
    try:
        yield lab.redis_url
    finally:
        lab.stop()


@pytest.fixture
def make_app(fakes: Fakes, redis_url: str) -> Iterator[Callable[..., Flask]]:
    """Build gateway apps wired to the fakes (measured by telemetry when given); each is closed after the test."""
    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()
    apps: list[Flask] = []

    def make(fallbacks: bool = True, telemetry: Telemetry | None = None, **env: str) -> Flask:
        settings = Settings.from_env(
            {
                "PURCHASE_CART_TARGET": fakes.targets["cart"],
                "PURCHASE_PRICING_TARGET": fakes.targets["pricing"],
                "PURCHASE_EMAIL_TARGET": fakes.targets["email"],
                "PURCHASE_REDIS_URL": redis_url,
                **env,
            }
        )
        app = create_app(settings, fallbacks=lambda _user: fallbacks, telemetry=telemetry)
        app.config["TESTING"] = True
        recorder = Recorder.from_env()
        if recorder is not None:
            app.after_request(functools.partial(record_http, recorder))
        apps.append(app)
        return app

    yield make
    for app in apps:
        resources(app).close()


def record_http(recorder: Recorder, response: Response) -> Response:
    """Record an HTTP answer of the scenario for `make drift`."""
    recorder.http(request.path, response.status_code, response.get_json(silent=True))
    return response


def resources(app: Flask) -> Gateway:
    """The gateway resources of an app."""
    return app.extensions[EXTENSION]


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """The gateway with fallbacks on."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """An HTTP client of the gateway."""
    return app.test_client()


def user_headers(user_id: str, **extra: str) -> dict[str, str]:
    """Headers naming the user, plus any extra ones (underscores in names become dashes)."""
    return {"X-User-Id": user_id, **{name.replace("_", "-"): value for name, value in extra.items()}}


def fill_cart(client: FlaskClient, user_id: str, *items: tuple[str, int]) -> None:
    """Put items in the user's cart through the API."""
    for sku, quantity in items or (("MUG-001", 2), ("BAG-003", 1)):
        headers = user_headers(user_id)
        assert (
            client.post("/api/v1/cart/items", json={"sku": sku, "quantity": quantity}, headers=headers).status_code
            == 200
        )


def checkout(client: FlaskClient, user_id: str, key: str = "key-1", **headers: str) -> TestResponse:
    """POST /api/v1/checkout for the user with an Idempotency-Key."""
    return client.post("/api/v1/checkout", headers={**user_headers(user_id, **headers), "Idempotency-Key": key})


def place_earlier_order(fakes: Fakes, client: FlaskClient, user_id: str) -> None:
    """Give the user a placed order, so the next checkout is not a first order."""
    fill_cart(client, user_id, ("TEE-002", 1))
    assert checkout(client, user_id, "earlier").status_code == 201
    fakes.email.outbox.clear()
    fakes.cart.faults.calls.clear()


def error_of(reply: TestResponse) -> dict[str, object]:
    """The error object of an error reply."""
    return reply.get_json()["error"]
