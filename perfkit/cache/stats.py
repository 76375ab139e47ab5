"""Per-function counters of the @cached wrappers (``perfkit.cache.stats()``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from perfkit.cache.catalog import registry

__all__ = ["FunctionStats", "reset_stats", "stats"]


@dataclass
class FunctionStats:
    """What one cached function did since the process started (or the last reset)."""

    hits: int = 0
    misses: int = 0
    stale: int = 0
    refreshes: int = 0
    errors: int = 0
    compute_time: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def stats(*functions: Any) -> dict[str, dict[str, Any]]:
    """Counters by ``perfkit_name``: hits, misses, stale, refreshes, errors, compute_time.

    With no argument, every registered cached function; else the functions given.
    """
    wrappers = functions or tuple(registry.values())
    return {w.perfkit_name: w._stats.as_dict() for w in wrappers}


def reset_stats(*functions: Any) -> None:
    """Zero the counters (of the functions given, or of all)."""
    for wrapper in functions or tuple(registry.values()):
        wrapper._stats = FunctionStats()
