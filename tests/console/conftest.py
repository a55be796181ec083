"""Fixtures for the console's functional tests: the gateway app on contract fakes, a real Redis, the token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from purchase.cart.v1 import cart_pb2_grpc
from purchase.email.v1 import email_pb2_grpc
from purchase.pricing.v1 import pricing_pb2_grpc

from purchase_lab.config import Settings
from purchase_lab.faults import FaultStore
from purchase_lab.faults.watcher import StaticRules
from purchase_lab.flags import FeatureFlags
from purchase_lab.grpc_server import create_server
from purchase_lab.ports import free_port
from services.gateway.app import create_app
from services.gateway.downstreams import CART_SERVICE, EMAIL_SERVICE, PRICING_SERVICE
from services.gateway.resources import EXTENSION
from tests.conftest import Lab
from tests.gateway.fake_cart import FakeCart
from tests.gateway.fakes import FakeEmail, FakePricing

TOKEN = "console-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Fakes:
    """The contract fakes behind the app, and the address of a port where nothing listens."""

    cart: FakeCart
    pricing: FakePricing
    email: FakeEmail
    targets: dict[str, str]
    dead: str

    def recover(self) -> None:
        """Let every fake answer normally again."""
        for fake in (self.cart, self.pricing, self.email):
            fake.faults.recover()


@pytest.fixture(scope="module")
def fakes() -> Iterator[Fakes]:
    """One real gRPC server per dependency (with the standard health service), serving a fake."""
    made = Fakes(FakeCart(), FakePricing(), FakeEmail(), {}, f"127.0.0.1:{free_port()}")
    servers: list[grpc.Server] = []
    for name, add, service in (
        ("cart", cart_pb2_grpc.add_CartServiceServicer_to_server, CART_SERVICE),
        ("pricing", pricing_pb2_grpc.add_PricingServiceServicer_to_server, PRICING_SERVICE),
        ("email", email_pb2_grpc.add_EmailServiceServicer_to_server, EMAIL_SERVICE),
    ):
        fake = getattr(made, name)
        server, port, _health = create_server(
            f"127.0.0.1:{free_port()}", lambda s, add=add, fake=fake: add(fake, s), [service.full_name]
        )
        server.start()
        servers.append(server)
        made.targets[name] = f"127.0.0.1:{port}"
    yield made
    for server in servers:
        server.stop(None)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis for the ops log and the email queue."""
    lab = Lab(tmp_path_factory.mktemp("console-redis")).start("redis")
    try:
        yield lab.redis_url
    finally:
        lab.stop()


@pytest.fixture(scope="module")
def control_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """This module's own control dir (live flags and faults), never the repository's .run/."""
    directory = tmp_path_factory.mktemp("console-control")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PURCHASE_CONTROL_DIR", str(directory))
        yield directory


@pytest.fixture(scope="module")
def app(fakes: Fakes, redis_url: str, control_dir: Path) -> Iterator[Flask]:
    """The gateway with the admin token set, cart and email on fakes, pricing on a live and a dead replica."""
    settings = Settings.from_env(
        {
            "PURCHASE_CART_TARGET": fakes.targets["cart"],
            "PURCHASE_PRICING_TARGET": f"ipv4:{fakes.targets['pricing']},{fakes.dead}",
            "PURCHASE_EMAIL_TARGET": fakes.targets["email"],
            "PURCHASE_REDIS_URL": redis_url,
            "PURCHASE_ADMIN_TOKEN": TOKEN,
        }
    )
    flags = FeatureFlags.start(control_dir / "flags.json")
    built = create_app(settings, fallbacks=lambda _user: True, flags=flags, fault_rules=StaticRules())
    built.config["TESTING"] = True
    yield built
    built.extensions[EXTENSION].close()
    flags.stop()


@pytest.fixture
def client(app: Flask, fakes: Fakes, redis_url: str, control_dir: Path) -> FlaskClient:
    """A client of the gateway; every fake healthy, no faults, and an empty Redis."""
    fakes.recover()
    FaultStore(control_dir).reset()
    with redis.Redis.from_url(redis_url) as connection:
        connection.flushdb()
    return app.test_client()
