"""The load shapes' curves, and how a well-behaved client decides to retry a checkout."""

from __future__ import annotations

import random

import pytest

from loadtest.chaos import MODES
from loadtest.curves import CURVES, ramp_up, spike, steady
from loadtest.retry import MAX_ATTEMPTS, MAX_WAIT_S, retry_delay, should_retry
from purchase_lab.cli import load

pytestmark = pytest.mark.unit

UNAVAILABLE = {"error": {"code": "dependency_unavailable", "retryable": True, "dependency": "cart"}}
CANCELLED = {"error": {"code": "order_cancelled", "retryable": True, "order_id": "o-1"}}


def test_steady_holds_every_user_from_start_to_end():
    assert [steady(p / 10, 20) for p in range(10)] == [20] * 10


def test_ramp_up_starts_with_one_user_grows_and_holds_the_peak():
    counts = [ramp_up(p / 100, 20) for p in range(100)]

    assert counts[0] == 1
    assert counts == sorted(counts)
    assert counts[80:] == [20] * 20


def test_spike_jumps_to_the_peak_for_the_middle_fifth_only():
    counts = {p: spike(p / 100, 20) for p in range(100)}

    assert {counts[p] for p in range(40, 60)} == {20}
    assert {counts[p] for p in [*range(40), *range(60, 100)]} == {5}
    assert spike(0.1, 2) == 1


def test_every_shape_and_chaos_mode_can_be_chosen_by_name_from_purchase_load():
    assert set(CURVES) == {"steady", "ramp-up", "spike"}
    assert tuple(CURVES) == load.SHAPES
    assert load.CHAOS == MODES


@pytest.mark.parametrize(
    ("status", "body", "retried"),
    [
        (0, None, True),  # no answer: a timeout or a refused connection
        (503, UNAVAILABLE, True),
        (503, CANCELLED, False),  # that order is gone; a new checkout needs a new key
        (503, {"error": {"code": "x", "retryable": False}}, False),
        (409, {"error": {"code": "cart_empty", "retryable": False}}, False),
        (422, {"error": {"code": "invalid_value", "retryable": False}}, False),
        (500, {"error": {"code": "internal_error", "retryable": False}}, False),
    ],
)
def test_a_checkout_is_retried_only_when_repeating_it_may_help(status: int, body: object, retried: bool):
    assert should_retry(status, body, attempt=1) is retried


def test_attempts_are_bounded():
    assert should_retry(503, UNAVAILABLE, attempt=MAX_ATTEMPTS - 1)
    assert not should_retry(503, UNAVAILABLE, attempt=MAX_ATTEMPTS)


def test_retry_after_is_honoured_up_to_a_cap_and_backoff_grows_without_it():
    assert retry_delay("1", attempt=1) == 1.0
    assert retry_delay("120", attempt=1) == MAX_WAIT_S
    rng = random.Random(1)
    first, second = retry_delay(None, 1, rng), retry_delay(None, 2, rng)
    assert 0 < first < second <= MAX_WAIT_S
    assert 0 < retry_delay("Wed, 21 Oct 2026 07:28:00 GMT", attempt=1) <= MAX_WAIT_S
