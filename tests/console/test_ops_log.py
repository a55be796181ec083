"""The ops log on a real Redis: records and series shared by every worker, and harmless when Redis is down."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
import redis

from purchase_lab.ports import free_port
from services.gateway.ops_log import BREAKER_FRESH_S, KEEP_S, MAX_CHECKOUTS, OpsLog, second_key, worker_id

pytestmark = pytest.mark.functional


class FakeClock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    """A connection to the test Redis, emptied first."""
    with redis.Redis.from_url(redis_url) as connection:
        connection.flushdb()
        yield connection


@pytest.fixture
def clock() -> FakeClock:
    """The ops log's clock."""
    return FakeClock()


@pytest.fixture
def ops(client: redis.Redis, clock: FakeClock) -> OpsLog:
    """An ops log on the test Redis."""
    return OpsLog(client, clock)


def test_checkouts_are_listed_newest_first_and_only_the_latest_are_kept(ops: OpsLog) -> None:
    for number in range(MAX_CHECKOUTS + 5):
        ops.record_checkout({"order_id": f"o-{number}"}, {"checkout:requests": 1})
    listed = ops.recent_checkouts(MAX_CHECKOUTS + 100)
    assert len(listed) == MAX_CHECKOUTS
    assert listed[0] == {"order_id": f"o-{MAX_CHECKOUTS + 4}"}


def test_series_are_per_second_counts_over_the_window_oldest_first(ops: OpsLog, clock: FakeClock) -> None:
    ops.record_checkout({}, {"checkout:requests": 1, "dep:email:failed": 1})
    clock.now += 2
    ops.count_request(failed=True)
    ops.count_request(failed=False)
    series = ops.series(5)
    assert (series["start"], series["points"]) == (int(clock.now) - 4, 5)
    assert series["series"]["checkout:requests"] == [0, 0, 1, 0, 0]
    assert series["series"]["gateway:requests"] == [0, 0, 0, 0, 2]
    assert series["series"]["gateway:errors"] == [0, 0, 0, 0, 1]


def test_counters_expire_so_redis_does_not_grow(ops: OpsLog, client: redis.Redis, clock: FakeClock) -> None:
    ops.count_request(failed=False)
    assert 0 < client.ttl(second_key(int(clock.now))) <= KEEP_S


def test_ramps_are_carried_forward_between_samples(ops: OpsLog, clock: FakeClock) -> None:
    ops.sample_ramps({"pricing.loyalty_discount": 10})
    clock.now += 3
    ops.sample_ramps({"pricing.loyalty_discount": 50})
    clock.now += 1
    assert ops.series(6)["series"]["ramp:pricing.loyalty_discount"] == [None, 10, 10, 10, 50, 50]


def test_with_redis_down_recording_is_quick_silent_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    ops = OpsLog.from_url(f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="services.gateway.ops_log"):
        for _ in range(50):
            ops.record_checkout({"order_id": "o-1"}, {"checkout:requests": 1})
            ops.count_request(failed=False)
    assert time.monotonic() - started < 0.5
    assert len(caplog.records) == 1
    assert "cannot record to Redis" in caplog.records[0].getMessage()
    assert not ops.ping()


def test_breaker_states_are_kept_per_worker_while_fresh(ops: OpsLog, clock: FakeClock) -> None:
    ops.record_checkout({}, {}, {"pricing": "open", "email": "closed"})
    assert ops.breaker_states() == {"pricing": {worker_id(): "open"}, "email": {worker_id(): "closed"}}
    clock.now += BREAKER_FRESH_S + 1
    assert ops.breaker_states() == {}


def test_a_breaker_reported_open_longer_than_it_stays_open_reads_half_open(ops: OpsLog, clock: FakeClock) -> None:
    ops.record_checkout({}, {}, {"pricing": "open"})
    clock.now += 4.9
    assert ops.breaker_states(open_s=5.0) == {"pricing": {worker_id(): "open"}}
    clock.now += 0.2
    assert ops.breaker_states(open_s=5.0) == {"pricing": {worker_id(): "half_open"}}
