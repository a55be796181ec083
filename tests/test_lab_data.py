"""purchase_lab/lab_data.py names the services' own Redis keys (it runs without importing any service)."""

from __future__ import annotations

import fnmatch

import pytest

from purchase_lab import lab_data
from services.cart.store import UserKeys
from services.email import outbox
from services.gateway import email_queue, ops_log

pytestmark = pytest.mark.unit


def test_every_key_of_a_users_cart_and_orders_matches_the_cart_pattern() -> None:
    keys = UserKeys("u-42")
    names = [keys.cart, keys.orders, keys.placed, keys.idempotency, keys.order("o-1")]

    assert all(fnmatch.fnmatchcase(name, lab_data.CART_KEYS.replace("{*}", "{u-42}")) for name in names)
    assert keys.cart.endswith(lab_data.CART_SUFFIX)
    assert [lab_data.ORDER_INFIX in name for name in names] == [False, False, False, False, True]


def test_the_email_and_console_keys_are_the_services_own() -> None:
    assert lab_data.EMAIL_OUTBOX == outbox.STREAM_KEY
    assert f"{outbox.SENT_KEY_PREFIX}:*" == lab_data.EMAIL_SENT
    assert (lab_data.EMAIL_QUEUE, lab_data.EMAIL_QUEUE_GROUP) == (email_queue.STREAM, email_queue.GROUP)
    assert lab_data.CONSOLE_CHECKOUTS == ops_log.CHECKOUTS_KEY


def test_the_summary_counts_in_words() -> None:
    assert (
        lab_data.DataReset(1, 2, 0, 1).describe()
        == "data: 1 cart, 2 orders, 0 emails in the outbox and 1 queued removed"
    )
