"""What the gateway did, kept in Redis for the ops console: recent checkouts and per-second counters.

ops_checkouts.py says what a checkout adds; this module stores it and reads it back.

Every gunicorn worker records into the same Redis, so the console sees the whole gateway whichever
worker answers it. Recording is best effort: a Redis that is down or slow costs a request at most
TIMEOUT_S once, then recording pauses for PAUSE_S (a circuit breaker), and each outage is logged once.

Keys, all under `purchase:console:`:

- `checkouts`: the last MAX_CHECKOUTS checkouts as JSON, newest first (LPUSH + LTRIM);
- `second:<unix second>`: a hash of that second's counters (HINCRBY), expiring after KEEP_S:
  `gateway:requests|errors` (every shop API request, and those answered 5xx),
  `checkout:requests|errors|rejected|degraded` (5xx, 4xx, placed with a fallback),
  `dep:<service>:checkouts|failed` (checkouts that reached cart, pricing or email, and those it failed),
  `fallback:<service>` (a soft dependency failed and its fallback ran),
  `flag:<key>:eligible` and `flag:<key>:<on|off>:exposed|succeeded|failed` (the funnel per variant),
  `ramp:<key>` (the flag's rollout percentage, sampled while the console watches).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import redis
from flask import Flask, Response, current_app, request

from purchase_lab.breaker import BreakerOpen, BreakerState, CircuitBreaker

log = logging.getLogger(__name__)

EXTENSION = "purchase_ops_log"
PREFIX = "purchase:console:"
CHECKOUTS_KEY = PREFIX + "checkouts"
MAX_CHECKOUTS = 200
KEEP_S = 900
# Recording happens while a checkout answers, so Redis may cost it at most this long, once per outage.
TIMEOUT_S = 0.2
PAUSE_S = 5.0
BREAKERS_KEY = PREFIX + "breakers"
# Each worker publishes its breakers' states after every checkout; a state older than this is stale.
BREAKER_FRESH_S = 30
COUNTED_PATHS = "/api/v1/"
UNCOUNTED_PATHS = "/api/v1/admin"


def second_key(second: int) -> str:
    """The hash of one second's counters."""
    return f"{PREFIX}second:{second}"


class OpsLog:
    """Records checkouts and request counts in Redis, and reads them back for the console."""

    def __init__(self, client: redis.Redis, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self._clock = clock
        # One failure pauses recording: a Redis outage must not cost every request a timeout.
        self._breaker = CircuitBreaker("console ops log", failure_threshold=1, open_seconds=PAUSE_S)

    @classmethod
    def from_url(cls, url: str) -> OpsLog:
        """An ops log on the Redis at url, with short timeouts (connections open on first use)."""
        return cls(redis.Redis.from_url(url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S))

    def record_checkout(
        self, entry: Mapping[str, Any], counts: Mapping[str, int], breakers: Mapping[str, str] | None = None
    ) -> None:
        """Add a checkout (JSON-ready) to the recent list and its counts to this second; never raises.

        breakers are this worker's circuit breaker states by dependency, published for the topology.
        """
        now = self._clock()

        def write(pipe: redis.client.Pipeline) -> None:
            pipe.lpush(CHECKOUTS_KEY, json.dumps(entry)).ltrim(CHECKOUTS_KEY, 0, MAX_CHECKOUTS - 1)
            self._count(pipe, counts, int(now))
            if breakers:
                reports = {
                    f"{worker_id()}|{name}": json.dumps({"state": state, "at": now}) for name, state in breakers.items()
                }
                pipe.hset(BREAKERS_KEY, mapping=reports).expire(BREAKERS_KEY, KEEP_S)

        self._write(write)

    def count_request(self, failed: bool) -> None:
        """Count one shop API request (failed: answered 5xx) in this second; never raises."""
        counts = Counter({"gateway:requests": 1, "gateway:errors": int(failed)})
        self._write(lambda pipe: self._count(pipe, +counts, int(self._clock())))

    def sample_ramps(self, ramps: Mapping[str, int]) -> None:
        """Note each flag's rollout percentage in this second, for the ramp line of the charts."""
        key = second_key(int(self._clock()))

        def write(pipe: redis.client.Pipeline) -> None:
            pipe.hset(key, mapping={f"ramp:{flag}": percent for flag, percent in ramps.items()}).expire(key, KEEP_S)

        if ramps:
            self._write(write)

    def recent_checkouts(self, limit: int) -> list[dict[str, Any]]:
        """The newest checkouts first; RedisError when Redis cannot be read."""
        return [json.loads(entry) for entry in self.client.lrange(CHECKOUTS_KEY, 0, limit - 1)]

    def series(self, window_s: int) -> dict[str, Any]:
        """Every counter of the last window_s seconds, oldest first; ramps carried forward between samples."""
        end = int(self._clock())
        start = end - window_s + 1
        with self.client.pipeline(transaction=False) as pipe:
            for second in range(start, end + 1):
                pipe.hgetall(second_key(second))
            rows = [{name.decode(): int(value) for name, value in row.items()} for row in pipe.execute()]
        names = sorted({name for row in rows for name in row})
        series = {name: [row.get(name, 0) for row in rows] for name in names if not name.startswith("ramp:")}
        ramps = {name: carried_forward(row.get(name) for row in rows) for name in names if name.startswith("ramp:")}
        return {"start": start, "step_s": 1, "points": window_s, "series": {**series, **ramps}}

    def breaker_states(self, open_s: float | None = None) -> dict[str, dict[str, str]]:
        """Each dependency's breaker state in every worker that published one lately, by worker.

        A worker publishes only when it serves a checkout, so with open_s (how long a breaker stays
        open) a breaker reported open longer ago than that reads half_open, as the worker's own would.
        """
        now = self._clock()
        states: dict[str, dict[str, str]] = {}
        for field, value in self.client.hgetall(BREAKERS_KEY).items():
            worker, _, name = field.decode().rpartition("|")
            report = json.loads(value)
            if now - report["at"] > BREAKER_FRESH_S:
                continue
            state = report["state"]
            if state == BreakerState.OPEN.value and open_s is not None and now - report["at"] >= open_s:
                state = BreakerState.HALF_OPEN.value
            states.setdefault(name, {})[worker] = state
        return states

    def ping(self) -> bool:
        """True when the ops log's Redis answers."""
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False

    def _count(self, pipe: redis.client.Pipeline, counts: Mapping[str, int], second: int) -> None:
        key = second_key(second)
        for name, amount in counts.items():
            pipe.hincrby(key, name, amount)
        pipe.expire(key, KEEP_S)

    def _write(self, fill: Callable[[redis.client.Pipeline], None]) -> None:
        try:
            self._breaker.before_call()
        except BreakerOpen:
            return
        recovering = self._breaker.snapshot().state is not BreakerState.CLOSED
        try:
            with self.client.pipeline(transaction=False) as pipe:
                fill(pipe)
                pipe.execute()
        except redis.RedisError as error:
            if not recovering:
                log.warning(
                    "the console cannot record to Redis (%s); requests go on unrecorded, retrying every %.0f s",
                    error,
                    PAUSE_S,
                )
            self._breaker.record_failure()
            return
        if recovering:
            log.info("the console records to Redis again")
        self._breaker.record_success()


def worker_id() -> str:
    """This gateway worker: its host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def carried_forward(values: Iterable[int | None]) -> list[int | None]:
    """Each missing value replaced by the last one before it (None until the first)."""
    last: int | None = None
    filled = []
    for value in values:
        last = value if value is not None else last
        filled.append(last)
    return filled


def count_shop_request(response: Response) -> Response:
    """after_request hook: count each shop API request (not the admin API) for the console's charts."""
    path = request.path
    if path.startswith(COUNTED_PATHS) and not path.startswith(UNCOUNTED_PATHS):
        ops_log().count_request(failed=response.status_code >= 500)
    return response


def init_app(app: Flask, ops: OpsLog) -> None:
    """Attach the ops log to app and count every shop API request."""
    app.extensions[EXTENSION] = ops
    app.after_request(count_shop_request)


def ops_log() -> OpsLog:
    """The ops log of the app serving the current request."""
    return current_app.extensions[EXTENSION]
