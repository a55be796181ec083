"""The email queue and its relays: each queued email is delivered once email takes it, junk is dropped."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from purchase.email.v1 import email_pb2

from purchase_lab.health import wait_until
from purchase_lab.money import money
from services.gateway.email_queue import STREAM, OutgoingEmail
from tests.gateway.conftest import Fakes, resources

pytestmark = pytest.mark.functional


def confirmation(order_id: str) -> OutgoingEmail:
    """A confirmation email for an order."""
    request = email_pb2.SendOrderConfirmationRequest(
        to="ada@example.org", user_id="ada", order_id=order_id, total=money(1999), item_count=1
    )
    return OutgoingEmail("order_confirmation", request)


def test_an_entry_that_is_not_an_email_is_dropped_and_the_rest_delivered(app: Flask, fakes: Fakes) -> None:
    queue = resources(app).email_queue
    queue.client.xadd(STREAM, {"kind": "postcard", "request": "{}"})
    queue.put(confirmation("ord-7"))

    wait_until(lambda: queue.backlog() == 0, "queue drained", timeout=5)

    assert [(m.order_id, m.to) for m in fakes.email.outbox] == [("ord-7", "ada@example.org")]


def test_several_relays_deliver_each_email_once(make_app: Callable[..., Flask], fakes: Fakes) -> None:
    apps = [make_app() for _ in range(3)]
    queue = resources(apps[0]).email_queue
    for number in range(10):
        queue.put(confirmation(f"ord-{number}"))

    wait_until(lambda: queue.backlog() == 0, "queue drained", timeout=5)

    assert sorted(m.order_id for m in fakes.email.outbox) == sorted(f"ord-{n}" for n in range(10))
    # The consumer group hands each email to one relay: ten emails, ten sends, no duplicates.
    assert fakes.email.faults.calls["SendOrderConfirmation"] == 10


def test_a_queued_email_survives_a_relay_that_stopped_before_delivering_it(
    make_app: Callable[..., Flask], fakes: Fakes
) -> None:
    fakes.email.faults.fail()
    first = make_app()
    queue = resources(first).email_queue
    queue.put(confirmation("ord-1"))
    wait_until(lambda: fakes.email.faults.calls["SendOrderConfirmation"] > 0, "a delivery attempt", timeout=5)
    resources(first).relay.stop()
    fakes.email.faults.recover()

    make_app()

    wait_until(lambda: [m.order_id for m in fakes.email.outbox] == ["ord-1"], "delivery by the new relay", timeout=5)
