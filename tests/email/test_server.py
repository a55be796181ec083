"""The email service as a real process with a real Redis, driven over gRPC."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from purchase.email.v1 import email_pb2, email_pb2_grpc

from purchase_lab.money import money
from services.email.outbox import STREAM_KEY, redis_client
from tests.conftest import Lab

pytestmark = pytest.mark.integration

TIMEOUT = 5.0


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Redis and the email service, started once for this module."""
    system = Lab(tmp_path_factory.mktemp("email"))
    try:
        yield system.start("redis", "email")
    finally:
        system.stop()


@pytest.fixture(scope="module")
def channel(lab: Lab) -> Iterator[grpc.Channel]:
    """A channel to the email service."""
    with grpc.insecure_channel(lab.target("email")) as opened:
        yield opened


@pytest.fixture(scope="module")
def email(channel: grpc.Channel) -> email_pb2_grpc.EmailServiceStub:
    """A stub for EmailService."""
    return email_pb2_grpc.EmailServiceStub(channel)


@pytest.fixture
def order_id() -> str:
    """An order id no other test uses."""
    return f"ord-{uuid.uuid4().hex[:12]}"


def confirmation(user_id: str, order_id: str, to: str = "ada@example.com") -> email_pb2.SendOrderConfirmationRequest:
    """A confirmation request for a $52.50 order of 3 items."""
    return email_pb2.SendOrderConfirmationRequest(
        to=to, user_id=user_id, order_id=order_id, total=money(5250), item_count=3
    )


def rpc_error(call, request) -> grpc.RpcError:
    """Make a call that must fail and return its error."""
    with pytest.raises(grpc.RpcError) as failure:
        call(request, timeout=TIMEOUT)
    return failure.value


@pytest.mark.parametrize("service", ["", "purchase.email.v1.EmailService"])
def test_health_is_serving(channel: grpc.Channel, service: str) -> None:
    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_a_confirmation_is_recorded_with_its_text(email, user_id: str, order_id: str) -> None:
    reply = email.SendOrderConfirmation(confirmation(user_id, order_id), timeout=TIMEOUT)
    message = reply.message
    assert not reply.duplicate
    assert message.message_id
    assert message.kind == email_pb2.EMAIL_KIND_ORDER_CONFIRMATION
    assert (message.to, message.user_id, message.order_id) == ("ada@example.com", user_id, order_id)
    assert message.subject == f"Your order {order_id} is confirmed"
    assert f"order {order_id}: 3 items, $52.50 in total." in message.body
    assert message.created_at.seconds > 1_700_000_000


def test_a_discount_email_names_the_amount_and_reason(email, user_id: str, order_id: str) -> None:
    request = email_pb2.SendDiscountEmailRequest(
        to="ada@example.com", user_id=user_id, order_id=order_id, amount=money(525), reason="10% off your first order"
    )
    reply = email.SendDiscountEmail(request, timeout=TIMEOUT)
    assert not reply.duplicate
    assert reply.message.kind == email_pb2.EMAIL_KIND_DISCOUNT
    assert reply.message.subject == f"You saved $5.25 on order {order_id}"
    assert "$5.25 off (10% off your first order)" in reply.message.body


def test_a_repeat_returns_the_first_message_as_a_duplicate(email, user_id: str, order_id: str) -> None:
    first = email.SendOrderConfirmation(confirmation(user_id, order_id), timeout=TIMEOUT)
    again = email.SendOrderConfirmation(confirmation(user_id, order_id, to="changed@example.com"), timeout=TIMEOUT)
    assert again.duplicate
    assert again.message == first.message
    listed = email.ListOutbox(email_pb2.ListOutboxRequest(user_id=user_id), timeout=TIMEOUT).messages
    assert list(listed) == [first.message]


def test_concurrent_repeats_record_exactly_one_email(email, lab: Lab, user_id: str, order_id: str) -> None:
    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(
            pool.map(lambda _: email.SendOrderConfirmation(confirmation(user_id, order_id), timeout=TIMEOUT), range(20))
        )
    assert sorted(reply.duplicate for reply in replies) == [False] + [True] * 19
    assert len({reply.message.message_id for reply in replies}) == 1
    client = redis_client(lab.redis_url)
    try:
        in_stream = [fields for _, fields in client.xrange(STREAM_KEY) if fields["order_id"] == order_id]
    finally:
        client.close()
    assert len(in_stream) == 1


def test_the_outbox_lists_newest_first_with_limit_and_user_filter(email, user_id: str) -> None:
    sent = [
        email.SendOrderConfirmation(confirmation(user_id, f"ord-{uuid.uuid4().hex[:12]}"), timeout=TIMEOUT).message
        for _ in range(3)
    ]
    email.SendOrderConfirmation(confirmation("u-someone-else", f"ord-{uuid.uuid4().hex[:12]}"), timeout=TIMEOUT)
    mine = email.ListOutbox(email_pb2.ListOutboxRequest(user_id=user_id), timeout=TIMEOUT).messages
    assert list(mine) == sent[::-1]
    newest = email.ListOutbox(email_pb2.ListOutboxRequest(user_id=user_id, limit=2), timeout=TIMEOUT).messages
    assert list(newest) == sent[:0:-1]
    everyone = email.ListOutbox(email_pb2.ListOutboxRequest(limit=1), timeout=TIMEOUT).messages
    assert [message.user_id for message in everyone] == ["u-someone-else"]


@pytest.mark.parametrize(
    ("to", "order", "details"),
    [
        ("", "ord-1", "the recipient `to` is empty; send the customer's email address"),
        ("not-an-address", "ord-1", "'not-an-address' is not an email address; send one like 'ada@example.com'"),
        ("ada@example.com", "", "the order_id is empty; send the id of the order the email is about"),
    ],
)
def test_a_bad_recipient_or_order_is_invalid(email, user_id: str, to: str, order: str, details: str) -> None:
    for call, request in [
        (email.SendOrderConfirmation, confirmation(user_id, order, to=to)),
        (
            email.SendDiscountEmail,
            email_pb2.SendDiscountEmailRequest(to=to, user_id=user_id, order_id=order, amount=money(100)),
        ),
    ]:
        error = rpc_error(call, request)
        assert (error.code(), error.details()) == (grpc.StatusCode.INVALID_ARGUMENT, details)


def test_a_discount_email_without_a_discount_is_invalid(email, user_id: str, order_id: str) -> None:
    request = email_pb2.SendDiscountEmailRequest(to="ada@example.com", user_id=user_id, order_id=order_id)
    error = rpc_error(email.SendDiscountEmail, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("the discount $0.00 is not above zero")


@pytest.mark.parametrize("limit", [-1, 1001])
def test_a_listing_limit_out_of_range_is_invalid(email, limit: int) -> None:
    error = rpc_error(email.ListOutbox, email_pb2.ListOutboxRequest(limit=limit))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == f"limit {limit} is out of range; ask for 1 to 1000 (0 means 100)"
