"""Failure messages: the counts, every query with where it came from, then what repeats.

A failing assertion shows expected vs actual per database, each counted query numbered with its
alias, location and SQL (long SQL shortened in the middle, the location never), and summaries
of identical queries and N+1 groups, so the message alone says what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from perfkit.conf import perfkit_settings
from perfkit.sql import shorten
from perfkit.testing.capture import CapturedQuery, QueryGroup, QueryLog

__all__ = [
    "duplicate_lines",
    "nplusone_lines",
    "per_alias",
    "plural",
    "query_listing",
    "repeat_summary",
    "shape",
]

_SELECT_COLUMNS = re.compile(r"^SELECT (DISTINCT )?(?:(?! FROM ).)+? FROM ", re.IGNORECASE)


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"


def shape(fingerprint: str, width: int = 160) -> str:
    """A fingerprint for humans: the column list of a SELECT elided, long text shortened."""
    return shorten(_SELECT_COLUMNS.sub(r"SELECT \1... FROM ", fingerprint, count=1), width)


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
        lines.append(f"  {number:>{digits}}. [{query.alias}] {query.location or '?'}")
        lines.append(f"  {' ' * digits}  {shorten(query.sql, width)}")
    return lines


def _from(group: QueryGroup) -> str:
    return " and ".join(group.locations[:3]) + (" ..." if len(group.locations) > 3 else "")


def duplicate_lines(groups: Sequence[QueryGroup]) -> list[str]:
    return [
        f"  {g.count}x identical [{g.alias}], from {_from(g)}: `{shape(g.fingerprint)}`"
        for g in groups
    ]


def nplusone_lines(groups: Sequence[QueryGroup]) -> list[str]:
    return [f"  {g.count}x `{shape(g.fingerprint)}` [{g.alias}] from {_from(g)}" for g in groups]


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
