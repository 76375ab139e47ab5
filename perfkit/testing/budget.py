"""``assert_cache_ops`` (exact cache-operation counts) and ``perf_budget`` (several limits)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections

from perfkit.conf import perfkit_settings
from perfkit.exceptions import ImproperlyConfiguredError, PerfAssertionError
from perfkit.instrument.cachelog import CacheLog, CacheOp, capture_cache
from perfkit.testing.block import CaptureBlock, QueriesAndCacheBlock
from perfkit.testing.messages import (
    per_alias,
    plural,
    query_listing,
    repeat_summary,
)

__all__ = ["CacheOpsAssertion", "PerfBudget", "assert_cache_ops", "perf_budget"]


def _limits(owner: str, **limits: int | None) -> dict[str, int]:
    for name, value in limits.items():
        if value is not None and (not isinstance(value, int) or value < 0):
            raise ImproperlyConfiguredError(
                f"{owner}({name}={value!r}): expected an int >= 0 or None (no limit)."
            )
    return {name: value for name, value in limits.items() if value is not None}


def cache_listing(ops: Sequence[CacheOp]) -> list[str]:
    """Numbered lines: ``1. [default] get 'book:1' miss  tests/test_x.py:12 in test_list``."""
    if not ops:
        return ["No cache operations were captured."]
    digits = len(str(len(ops)))
    lines = ["Cache operations:"]
    for number, op in enumerate(ops, 1):
        outcome = {True: " hit", False: " miss", None: ""}[op.hit]
        lines.append(
            f"  {number:>{digits}}. [{op.alias}] {op.op} {op.key!r}{outcome}  {op.location or '?'}"
        )
    return lines


class CacheOpsAssertion(CaptureBlock):
    """Captures cache operations, then compares hits, misses, sets and deletes exactly."""

    def __init__(self, expected: dict[str, int], aliases: str | Sequence[str] | None) -> None:
        self.expected = expected
        self.aliases = aliases
        self.log: CacheLog | None = None

    def capture(self) -> Any:
        return capture_cache(self.aliases)

    def verify(self, log: CacheLog) -> None:
        __tracebackhide__ = True
        wrong = [
            f"{name}: expected {want}, got {getattr(log, name)}"
            for name, want in self.expected.items()
            if getattr(log, name) != want
        ]
        if wrong:
            lines = ["Unexpected cache operations: " + "; ".join(wrong) + ".", ""]
            raise PerfAssertionError("\n".join(lines + cache_listing(log.ops)))


def assert_cache_ops(
    *,
    hits: int | None = None,
    misses: int | None = None,
    sets: int | None = None,
    deletes: int | None = None,
    aliases: str | Sequence[str] | None = None,
) -> CacheOpsAssertion:
    """Fail unless the block makes exactly the given numbers of cache hits/misses/sets/deletes.

    Counts left as None are not checked.  ``get_many`` counts one hit or miss per key.
    """
    expected = _limits("assert_cache_ops", hits=hits, misses=misses, sets=sets, deletes=deletes)
    if not expected:
        raise ImproperlyConfiguredError(
            "assert_cache_ops() checks nothing: pass at least one of hits=, misses=, sets=, "
            "deletes=."
        )
    return CacheOpsAssertion(expected, aliases)


class PerfBudget(QueriesAndCacheBlock):
    """Captures queries and cache operations, then reports every exceeded limit together."""

    def __init__(self, limits: dict[str, int], using: str | Sequence[str] | None) -> None:
        self.limits = limits
        self.using = using

    def check(self) -> None:
        __tracebackhide__ = True
        log, cache = self.logs("perf_budget")
        limits = self.limits
        counted = log.counted()
        breaches: list[str] = []
        if "queries" in limits and len(counted) > limits["queries"]:
            aliases = list(connections.settings) if self.using is None else log.using or []
            breaches.append(
                f"queries: {len(counted)} > {limits['queries']} ({per_alias(counted, aliases)})"
            )
        duplicates = log.duplicates()
        if "duplicates" in limits and len(duplicates) > limits["duplicates"]:
            breaches.append(
                f"duplicates: {plural(len(duplicates), 'group')} > {limits['duplicates']}"
            )
        nplusone = log.nplusone(perfkit_settings.NPLUSONE_THRESHOLD)
        if "nplusone" in limits and len(nplusone) > limits["nplusone"]:
            breaches.append(f"nplusone: {plural(len(nplusone), 'group')} > {limits['nplusone']}")
        if "cache_misses" in limits and cache.misses > limits["cache_misses"]:
            breaches.append(f"cache_misses: {cache.misses} > {limits['cache_misses']}")
        if not breaches:
            return
        lines = [f"Performance budget exceeded ({plural(len(breaches), 'breach', 'breaches')}):"]
        lines += [f"  - {b}" for b in breaches]
        lines += ["", *query_listing(counted), *repeat_summary(log, counted)]
        if "cache_misses" in limits:
            lines += ["", *cache_listing(cache.ops)]
        raise PerfAssertionError("\n".join(lines))


def perf_budget(
    *,
    queries: int | None = None,
    duplicates: int | None = None,
    nplusone: int | None = None,
    cache_misses: int | None = None,
    using: str | Sequence[str] | None = None,
) -> PerfBudget:
    """Check several limits at once; a failure names every limit the block exceeded.

    ``queries``: most queries; ``duplicates``: most groups of identical queries; ``nplusone``:
    most N+1 groups; ``cache_misses``: most cache misses (every alias).
    """
    limits = _limits(
        "perf_budget",
        queries=queries,
        duplicates=duplicates,
        nplusone=nplusone,
        cache_misses=cache_misses,
    )
    if not limits:
        raise ImproperlyConfiguredError(
            "perf_budget() checks nothing: pass at least one of queries=, duplicates=, "
            "nplusone=, cache_misses=."
        )
    return PerfBudget(limits, using)
