"""A circuit breaker: stop paying a failing dependency's deadline on every call.

CLOSED: calls go through; `failure_threshold` failures in a row open the breaker.
OPEN: calls are refused at once (`BreakerOpen`) for `open_seconds`, so the caller's fallback runs
without waiting for a deadline that will expire anyway.
HALF_OPEN: after that, one trial call goes through; success closes the breaker, failure opens it
again. Other calls are refused while the trial is in flight. When the dependency reports healthy
again before open_seconds are up (`dependency_healthy`), the breaker half-opens at once, so recovery
follows the restart; open_seconds still bounds how long a dependency that stays down is left alone.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


class BreakerState(enum.Enum):
    """Where a breaker is: passing calls, refusing them, or trying one."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class BreakerOpen(Exception):
    """The breaker refused the call without making it: the dependency has been failing."""

    def __init__(self, name: str, retry_in: float) -> None:
        super().__init__(f"the {name} circuit breaker is open; the call was not made (next try in {retry_in:.1f} s)")
        self.name = name
        self.retry_in = retry_in


@dataclass(frozen=True)
class BreakerSnapshot:
    """A breaker's state at one moment, for health endpoints and metrics."""

    name: str
    state: BreakerState
    consecutive_failures: int
    opened_total: int

    def to_dict(self) -> dict[str, object]:
        """The snapshot as JSON-ready data."""
        return {
            "state": self.state.value,
            "consecutive_failures": self.consecutive_failures,
            "opened_total": self.opened_total,
        }


class CircuitBreaker:
    """A thread-safe breaker around calls to one dependency."""

    def __init__(
        self,
        name: str,
        failure_threshold: int = 5,
        open_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.open_seconds = open_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._opened_total = 0
        self._trial_in_flight = False

    def before_call(self) -> None:
        """Raise BreakerOpen when the call must not be made; otherwise let it through."""
        with self._lock:
            if self._state is BreakerState.CLOSED:
                return
            waited = self._clock() - self._opened_at
            if self._state is BreakerState.OPEN and waited >= self.open_seconds:
                self._state = BreakerState.HALF_OPEN
            if self._state is BreakerState.HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return
            raise BreakerOpen(self.name, max(0.0, self.open_seconds - waited))

    def dependency_healthy(self) -> None:
        """The dependency reports healthy again: an open breaker lets the next call through as its trial now."""
        with self._lock:
            if self._state is BreakerState.OPEN:
                self._state = BreakerState.HALF_OPEN

    def record_success(self) -> None:
        """The call succeeded: close the breaker."""
        with self._lock:
            self._state = BreakerState.CLOSED
            self._failures = 0
            self._trial_in_flight = False

    def record_failure(self) -> None:
        """The call failed: count it, and open the breaker at the threshold or after a failed trial."""
        with self._lock:
            self._failures += 1
            if self._state is BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
                if self._state is not BreakerState.OPEN:
                    self._opened_total += 1
                self._state = BreakerState.OPEN
                self._opened_at = self._clock()
            self._trial_in_flight = False

    def snapshot(self) -> BreakerSnapshot:
        """The breaker's state now (an OPEN breaker past its wait reads HALF_OPEN)."""
        with self._lock:
            state = self._state
            if state is BreakerState.OPEN and self._clock() - self._opened_at >= self.open_seconds:
                state = BreakerState.HALF_OPEN
            return BreakerSnapshot(self.name, state, self._failures, self._opened_total)
