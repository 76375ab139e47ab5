"""One instrumented run of a scenario: its queries, cache operations and perfkit cache events.

Queries come from ``perfkit.testing.capture_queries`` and cache operations from
``capture_cache`` (docs/architecture.md, "The parts"); perfkit's own hits/misses from the
signals of ``perfkit.signals``.
Transaction noise (BEGIN/SAVEPOINT/...) and the database cache's own SQL are not counted as the
scenario's queries: they are the cache at work, reported as cache operations.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from perfkit.conf import perfkit_settings

__all__ = ["capture_run", "group_as_dict"]

_SIGNAL_NAMES = {
    "cache_hit": "hits",
    "cache_miss": "misses",
    "cache_stale": "stale",
    "cache_invalidated": "invalidations",
    "cache_error": "errors",
}


def capture_run(
    call: Callable[[], Any], *, exclude_table: str | None = None
) -> tuple[dict[str, Any], dict[str, int], dict[str, int]]:
    """Run ``call`` once under capture; return (queries, cache ops, perfkit events)."""
    from perfkit.testing import capture_cache, capture_queries

    events: Counter[str] = Counter()
    with capture_queries() as log, capture_cache() as cache_log, _perfkit_events(events):
        call()
    cache = {
        "hits": int(cache_log.hits),
        "misses": int(cache_log.misses),
        "sets": int(cache_log.sets),
        "deletes": int(cache_log.deletes),
    }
    perfkit = {name: events[name] for name in _SIGNAL_NAMES.values()}
    return _queries(log, exclude_table), cache, perfkit


def _is_cache_sql(text: str, table: str | None) -> bool:
    return bool(table) and table in text  # type: ignore[operator]


def _queries(log: Any, table: str | None) -> dict[str, Any]:
    captured = list(log)
    cache_sql = {id(q) for q in captured if _is_cache_sql(q.sql, table)}
    counted = [q for q in captured if not q.is_transaction_noise and id(q) not in cache_sql]
    threshold = perfkit_settings.NPLUSONE_THRESHOLD
    duplicate_groups = [
        group_as_dict(g, with_params=True) for g in log.duplicates() if _counts(g, table)
    ]
    nplusone = [group_as_dict(g) for g in log.nplusone(threshold=threshold) if _counts(g, table)]
    return {
        "count": len(counted),
        "duplicates": sum(g["count"] - 1 for g in duplicate_groups),
        "duplicate_groups": duplicate_groups,
        "nplusone": nplusone,
        "cache_sql": len(cache_sql),
        "by_alias": dict(Counter(q.alias for q in counted)),
    }


def _counts(group: Any, table: str | None) -> bool:
    """Is this group made of the scenario's own queries (not noise, not the cache's SQL)?"""
    queries = list(getattr(group, "queries", ()) or ())
    if queries and all(q.is_transaction_noise for q in queries):
        return False
    return not _is_cache_sql(_group_sql(group), table)


def _group_sql(group: Any) -> str:
    text = getattr(group, "fingerprint", None) or getattr(group, "sql", None)
    if not text:
        queries = getattr(group, "queries", None) or ()
        text = next((q.fingerprint for q in queries), "")
    return str(text)


def group_as_dict(group: Any, *, with_params: bool = False) -> dict[str, Any]:
    """A duplicate or N+1 group of ``QueryLog`` as plain JSON data.

    ``with_params`` (for identical duplicates) adds the parameters the queries shared, which
    tell two duplicate groups of one shape apart.
    """
    locations = getattr(group, "locations", None)
    if locations is None:
        location = getattr(group, "location", None)
        locations = [location] if location else []
    data = {
        "fingerprint": _group_sql(group),
        "count": _group_count(group),
        "locations": [str(loc) for loc in locations if loc],
    }
    if with_params:
        queries = getattr(group, "queries", None) or ()
        params = getattr(queries[0], "params", None) if queries else None
        data["params"] = "" if params is None else str(tuple(params))
    return data


def _group_count(group: Any) -> int:
    count = getattr(group, "count", None)
    if count is None or callable(count):
        return len(getattr(group, "queries", ()) or ())
    return int(count)


@contextmanager
def _perfkit_events(events: Counter[str]) -> Iterator[None]:
    from perfkit import signals

    receivers = []
    for signal_name, counter_name in _SIGNAL_NAMES.items():

        def receiver(sender: Any, _name: str = counter_name, **kwargs: Any) -> None:
            events[_name] += 1

        signal = getattr(signals, signal_name)
        signal.connect(receiver, weak=False)
        receivers.append((signal, receiver))
    try:
        yield
    finally:
        for signal, receiver in receivers:
            signal.disconnect(receiver)
