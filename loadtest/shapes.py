"""Load shapes for locust: steady, ramp-up and spike, each following its curve in curves.py.

A shape lasts `duration_s` and peaks at `users`. Both come from the constructor (the headless run
passes them), else from locust's own `--users` and `--run-time` (the web UI's fields), else from the
defaults below. In the web UI (`purchase load --ui`) the class picker offers every shape by name.
"""

from __future__ import annotations

from locust import LoadTestShape

from loadtest import curves

DEFAULT_USERS = 20
DEFAULT_DURATION_S = 60.0


class PurchaseShape(LoadTestShape):
    """A shape with a peak user count and a duration; it stops the run when the time is up."""

    abstract = True
    use_common_options = True
    curve: curves.Curve

    def __init__(self, users: int | None = None, duration_s: float | None = None) -> None:
        super().__init__()
        self._users = users
        self._duration_s = duration_s

    @property
    def users(self) -> int:
        """The most users this shape runs at once."""
        return int(self._users or self._option("num_users") or DEFAULT_USERS)

    @property
    def duration_s(self) -> float:
        """How long the shape runs, in seconds."""
        return float(self._duration_s or self._option("run_time") or DEFAULT_DURATION_S)

    def _option(self, name: str) -> float | None:
        options = self.runner.environment.parsed_options if self.runner is not None else None
        return getattr(options, name, None)

    def tick(self) -> tuple[int, float] | None:
        """Locust asks every second: (users, spawn rate), or None when the run is over."""
        elapsed = self.get_run_time()
        if elapsed >= self.duration_s:
            return None
        # Users arrive within a second of being asked for: the curve, not the spawn rate, sets the pace.
        return self.curve(elapsed / self.duration_s, self.users), float(self.users)


class Steady(PurchaseShape):
    """Every user from the first second to the last."""

    curve = staticmethod(curves.steady)


class RampUp(PurchaseShape):
    """From one user to all of them over most of the run, then holding."""

    curve = staticmethod(curves.ramp_up)


class Spike(PurchaseShape):
    """A quarter of the users, then all of them at once for the middle fifth of the run."""

    curve = staticmethod(curves.spike)


SHAPES: dict[str, type[PurchaseShape]] = {"steady": Steady, "ramp-up": RampUp, "spike": Spike}
