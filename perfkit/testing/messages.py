"""Failure messages: the counts, every query with where it came from, then what repeats.

A failing assertion shows expected vs actual per database, each counted query numbered with its
alias, location and SQL (long SQL shortened in the middle, the location never), and summaries
of identical queries and N+1 groups, so the message alone says what to fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from perfkit.conf import perfkit_settings
from perfkit.instrument.queries import CapturedQuery, QueryLog
from perfkit.instrument.sql import shorten
from perfkit.instrument.text import called_from, duplicate_lines, nplusone_lines, plural, shape

__all__ = [
    "duplicate_lines",
    "nplusone_lines",
    "per_alias",
    "plural",
    "query_listing",
    "repeat_summary",
    "shape",
]


def per_alias(queries: Iterable[CapturedQuery], aliases: Sequence[str]) -> str:
    """``default: 3, other: 0``: the count on each database in scope."""
    counts = dict.fromkeys(aliases, 0)
    for query in queries:
        counts[query.alias] = counts.get(query.alias, 0) + 1
    return ", ".join(f"{alias}: {n}" for alias, n in counts.items())


def query_listing(queries: Sequence[CapturedQuery], *, width: int = 240) -> list[str]:
    """Numbered lines: ``1. [default] tests/test_x.py:12 in test_list`` then the SQL."""
    if not queries:
        return ["No queries were captured."]
    lines = ["Queries:"]
    digits = len(str(len(queries)))
    for number, query in enumerate(queries, 1):
        where = called_from(query.location or "?", query.callers)
        lines.append(f"  {number:>{digits}}. [{query.alias}] {where}")
        lines.append(f"  {' ' * digits}  {shorten(query.sql, width)}")
    return lines


def repeat_summary(log: QueryLog, queries: Sequence[CapturedQuery] | None = None) -> list[str]:
    """The "Duplicates:" and "N+1:" sections (empty list when nothing repeats)."""
    scoped = QueryLog(log.using, threads=log.threads, locations=log.locations)
    scoped.queries = list(log.queries if queries is None else queries)
    lines: list[str] = []
    duplicates = scoped.duplicates()
    if duplicates:
        lines += ["", "Duplicates:", *duplicate_lines(duplicates)]
    nplusone = scoped.nplusone(perfkit_settings.NPLUSONE_THRESHOLD)
    if nplusone:
        lines += ["", "N+1 (same query shape repeated from one place):", *nplusone_lines(nplusone)]
    return lines
