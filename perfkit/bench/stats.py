"""Timing summaries: median, tail percentiles and minimum of a list of durations."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from fractions import Fraction

__all__ = ["percentile", "summarise"]


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of sorted ``ordered``, interpolating between ranks.

    ``statistics.quantiles`` with ``method="inclusive"``: the linear interpolation of numpy's
    default, so the 100th percentile is the largest sample.
    """
    if not ordered:
        raise ValueError("percentile() of no samples")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be between 0 and 100, got {q!r}")
    if len(ordered) == 1 or q == 0:
        return ordered[0]
    if q == 100:
        return ordered[-1]
    # q = k/d exactly: the k-th of the 100*d-quantiles' cut points (1 <= k < 100*d)
    exact = Fraction(str(q))
    cuts = statistics.quantiles(ordered, n=100 * exact.denominator, method="inclusive")
    return cuts[exact.numerator - 1]


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
        "mean": r(statistics.fmean(ordered)),
        "runs": len(ordered),
    }
