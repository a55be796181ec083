"""The circuit breaker: opens after failures in a row, refuses calls while open, tries one call after."""

from __future__ import annotations

import threading

import pytest

from purchase_lab.breaker import BreakerOpen, BreakerState, CircuitBreaker

pytestmark = pytest.mark.unit


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker("pricing", failure_threshold=3, open_seconds=5.0, clock=clock)


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.before_call()
        breaker.record_failure()


def test_a_closed_breaker_lets_calls_through_and_success_resets_the_count(breaker: CircuitBreaker) -> None:
    fail(breaker, 2)
    breaker.before_call()
    breaker.record_success()
    fail(breaker, 2)
    assert breaker.snapshot().state is BreakerState.CLOSED
    assert breaker.snapshot().consecutive_failures == 2


def test_failures_in_a_row_open_it_and_it_refuses_calls_without_making_them(breaker: CircuitBreaker) -> None:
    fail(breaker, 3)
    snapshot = breaker.snapshot()
    assert snapshot.state is BreakerState.OPEN
    assert snapshot.opened_total == 1
    with pytest.raises(BreakerOpen, match=r"pricing circuit breaker is open; .*next try in 5\.0 s"):
        breaker.before_call()


def test_after_the_wait_one_trial_goes_through_and_success_closes(breaker: CircuitBreaker, clock: FakeClock) -> None:
    fail(breaker, 3)
    clock.now += 5.0
    assert breaker.snapshot().state is BreakerState.HALF_OPEN
    breaker.before_call()  # the trial
    with pytest.raises(BreakerOpen):
        breaker.before_call()  # nobody else while the trial is in flight
    breaker.record_success()
    assert breaker.snapshot().state is BreakerState.CLOSED
    breaker.before_call()


def test_a_dependency_healthy_again_half_opens_it_before_the_wait(breaker: CircuitBreaker, clock: FakeClock) -> None:
    fail(breaker, 3)
    clock.now += 0.5
    breaker.dependency_healthy()
    assert breaker.snapshot().state is BreakerState.HALF_OPEN
    breaker.before_call()  # the trial, long before the 5 s are up
    with pytest.raises(BreakerOpen):
        breaker.before_call()
    breaker.record_success()
    assert breaker.snapshot().state is BreakerState.CLOSED


def test_healthy_news_neither_closes_a_breaker_nor_touches_a_closed_one(breaker: CircuitBreaker) -> None:
    breaker.dependency_healthy()
    assert breaker.snapshot().state is BreakerState.CLOSED
    fail(breaker, 3)
    breaker.dependency_healthy()
    breaker.before_call()
    breaker.dependency_healthy()  # while the trial is in flight: still only that one call goes through
    with pytest.raises(BreakerOpen):
        breaker.before_call()


def test_a_failed_trial_opens_it_again_for_a_full_wait(breaker: CircuitBreaker, clock: FakeClock) -> None:
    fail(breaker, 3)
    clock.now += 6.0
    breaker.before_call()
    breaker.record_failure()
    snapshot = breaker.snapshot()
    assert snapshot.state is BreakerState.OPEN
    assert snapshot.opened_total == 2
    clock.now += 4.9
    with pytest.raises(BreakerOpen):
        breaker.before_call()


def test_concurrent_callers_count_every_failure(clock: FakeClock) -> None:
    breaker = CircuitBreaker("email", failure_threshold=400, clock=clock)
    threads = [threading.Thread(target=fail, args=(breaker, 50)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert breaker.snapshot().state is BreakerState.OPEN
    assert breaker.snapshot().consecutive_failures == 400
