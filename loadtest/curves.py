"""How many users shop at each point of a run: the curves that the load shapes follow.

Pure functions of progress (0.0 at the start of the run, 1.0 at its end) and the peak user count,
kept apart from locust so that they can be read and tested on their own.
"""

from __future__ import annotations

import math
from collections.abc import Callable

# The ramp-up reaches its peak after this share of the run, and holds it for the rest.
RAMP_SHARE = 0.8
# The spike: all users for the middle fifth of the run, a quarter of them before and after.
SPIKE_START, SPIKE_END = 0.4, 0.6
SPIKE_BASELINE = 0.25

Curve = Callable[[float, int], int]


def steady(progress: float, peak: int) -> int:
    """Every user from the first second to the last: a normal day at a constant rate."""
    return peak


def ramp_up(progress: float, peak: int) -> int:
    """From one user to all of them over the first 80% of the run, then holding there: a shop opening."""
    return max(1, math.ceil(peak * min(1.0, progress / RAMP_SHARE)))


def spike(progress: float, peak: int) -> int:
    """A quarter of the users, then all of them at once for the middle fifth of the run: a flash sale."""
    if SPIKE_START <= progress < SPIKE_END:
        return peak
    return max(1, math.floor(peak * SPIKE_BASELINE))


CURVES: dict[str, Curve] = {"steady": steady, "ramp-up": ramp_up, "spike": spike}
