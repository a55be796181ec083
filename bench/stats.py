"""Timing loops and percentiles: the only arithmetic the bench does on its samples."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence


def percentile(samples: Sequence[float], q: float) -> float:
    """The nearest-rank q-th percentile (0 < q <= 100) of the samples: a value that was actually measured."""
    if not samples:
        raise ValueError("no samples to take a percentile of; the measured section produced none")
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(samples_s: Sequence[float], unit: str = "ms") -> dict[str, float | int]:
    """n, p50, p99, mean, min and max of samples taken in seconds, in ms or us (named in every key)."""
    scale = {"ms": 1e3, "us": 1e6}[unit]
    if not samples_s:
        return {"n": 0}
    return {
        "n": len(samples_s),
        f"p50_{unit}": round(percentile(samples_s, 50) * scale, 3),
        f"p99_{unit}": round(percentile(samples_s, 99) * scale, 3),
        f"mean_{unit}": round(sum(samples_s) / len(samples_s) * scale, 3),
        f"min_{unit}": round(min(samples_s) * scale, 3),
        f"max_{unit}": round(max(samples_s) * scale, 3),
    }


def time_batch(call: Callable[[], object], count: int) -> float:
    """Seconds per call of count calls in one timed loop, for calls too short to time one by one."""
    started = time.perf_counter()
    for _ in range(count):
        call()
    return (time.perf_counter() - started) / count


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator rounded to 3 places; None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)
