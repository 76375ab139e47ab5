"""Query groups as lines for humans: shared by the test assertions' messages and the middleware.

``shape()`` elides the column list of a SELECT and shortens long text; ``duplicate_lines()``
and ``nplusone_lines()`` give one line per group with its count, alias and locations.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from perfkit.instrument.queries import QueryGroup
from perfkit.instrument.sql import shorten

__all__ = [
    "called_from",
    "duplicate_lines",
    "nplusone_lines",
    "plural",
    "relation_name",
    "shape",
]

_SELECT_COLUMNS = re.compile(r"^SELECT (DISTINCT )?(?:(?! FROM ).)+? FROM ", re.IGNORECASE)


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"


def shape(fingerprint: str, width: int = 160) -> str:
    """A fingerprint for humans: the column list of a SELECT elided, long text shortened."""
    return shorten(_SELECT_COLUMNS.sub(r"SELECT \1... FROM ", fingerprint, count=1), width)


def called_from(location: str, callers: Sequence[str]) -> str:
    """``helper.py:9 in load <- tests/test_x.py:4 in test_page``: a helper's location and the
    user frames that called it (the next one and the outermost, the test's own line)."""
    return " <- ".join([location, *callers])


def relation_name(label: str) -> str:
    """``bookstore.Book.author`` -> ``Book.author``."""
    return label.split(".", 1)[1] if label.count(".") >= 2 else label


def _from(group: QueryGroup) -> str:
    locations = group.locations
    if len(locations) == 1:
        return called_from(locations[0], group.callers)
    return " and ".join(locations[:3]) + (" ..." if len(locations) > 3 else "")


def duplicate_lines(groups: Sequence[QueryGroup]) -> list[str]:
    """One line per query shape and place; groups differing only in parameters are merged
    (``2x identical [default] for each of 3 parameter sets``) rather than printed alike."""
    merged: dict[tuple[str, str, str], list[int]] = {}
    for g in groups:
        merged.setdefault((g.alias, g.fingerprint, _from(g)), []).append(g.count)
    lines = []
    for (alias, fingerprint, where), counts in merged.items():
        low, high = min(counts), max(counts)
        times = f"{low}x" if low == high else f"{low}-{high}x"
        sets = f" for each of {len(counts)} parameter sets" if len(counts) > 1 else ""
        lines.append(f"  {times} identical [{alias}]{sets}, from {where}: `{shape(fingerprint)}`")
    return lines


def nplusone_lines(groups: Sequence[QueryGroup]) -> list[str]:
    """``5x `SELECT ...` [default] loading Book.author, from services.py:29 in row``."""
    return [
        f"  {g.count}x `{shape(g.fingerprint)}` [{g.alias}]"
        + (f" loading {relation_name(g.relation)}," if g.relation else "")
        + f" from {_from(g)}"
        for g in groups
    ]
