"""Timing summaries: median, tail percentiles and minimum of a list of durations."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["percentile", "summarise"]


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of sorted ``ordered``, interpolating between ranks."""
    if not ordered:
        raise ValueError("percentile() of no samples")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be between 0 and 100, got {q!r}")
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarise(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/min/max/mean in milliseconds and the number of runs."""
    ordered = sorted(seconds)
    ms = 1000.0

    def r(value: float) -> float:
        return round(value * ms, 4)

    return {
        "p50": r(percentile(ordered, 50)),
        "p95": r(percentile(ordered, 95)),
        "p99": r(percentile(ordered, 99)),
        "min": r(ordered[0]),
        "max": r(ordered[-1]),
        "mean": r(sum(ordered) / len(ordered)),
        "runs": len(ordered),
    }
