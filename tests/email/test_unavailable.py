"""The email service when its Redis is down: UNAVAILABLE with advice, and recovery once Redis is back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import grpc
import pytest
from purchase.email.v1 import email_pb2, email_pb2_grpc

from purchase_lab.money import money
from tests.conftest import Lab

pytestmark = pytest.mark.integration

TIMEOUT = 5.0


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Redis and the email service, started for this module; the test stops and restarts Redis."""
    system = Lab(tmp_path_factory.mktemp("email-unavailable"))
    try:
        yield system.start("redis", "email")
    finally:
        system.stop()


def test_a_lost_redis_is_unavailable_then_recovers(lab: Lab) -> None:
    request = email_pb2.SendOrderConfirmationRequest(
        to="ada@example.com", user_id="u-ada", order_id=f"ord-{uuid.uuid4().hex[:12]}", total=money(100), item_count=1
    )
    with grpc.insecure_channel(lab.target("email")) as channel:
        email = email_pb2_grpc.EmailServiceStub(channel)
        lab.processes["redis"].stop()
        for call, message in [
            (email.SendOrderConfirmation, request),
            (email.ListOutbox, email_pb2.ListOutboxRequest()),
        ]:
            with pytest.raises(grpc.RpcError) as failure:
                call(message, timeout=TIMEOUT)
            assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
            assert failure.value.details() == "the email outbox is unavailable; retry shortly"
        lab.start("redis")
        reply = email.SendOrderConfirmation(request, timeout=TIMEOUT)
    assert not reply.duplicate
