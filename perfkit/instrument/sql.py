"""SQL fingerprints: one normalised text per query *shape*, shared by every perfkit helper.

``fingerprint(sql)`` replaces literals and placeholders with ``?``, folds ``IN (...)`` lists
and multi-row ``VALUES`` of any length, folds whitespace and strips identifier quoting, so the
same ORM call gives the same fingerprint on SQLite and PostgreSQL wherever the SQL allows::

    >>> fingerprint('SELECT "a"."id" FROM "a" WHERE "a"."id" IN (%s, %s, %s) LIMIT 21')
    'SELECT a.id FROM a WHERE a.id IN (...) LIMIT ?'

It is a small tokenizer, not a parser: text it does not understand passes through unchanged.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["fingerprint", "shorten"]

_TOKEN = re.compile(
    r"""
      (?P<string>[EeNnBbXx]?'(?:[^']|'')*')         # 'text', E'...', N'...', X'ff'
    | (?P<dollar>\$(?P<tag>\w*)\$.*?\$(?P=tag)\$)   # $$ ... $$ (PostgreSQL)
    | (?P<quoted>"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]) # "ident", `ident`, [ident]
    | (?P<comment>--[^\n]*|/\*.*?\*/)
    | (?P<param>%\([^)]*\)s|%s|\$\d+|\?\d*|(?<![:\w]):[A-Za-z_]\w*)
    | (?P<number>(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w]))
    | (?P<space>\s+)
    """,
    re.VERBOSE | re.DOTALL,
)
# "IN (?, ?, ?)" / "IN (?)" -> "IN (...)"
_IN_LIST = re.compile(r"\bIN \((?:\?, )*\?\)", re.IGNORECASE)
# "VALUES (?, ?), (?, ?)" -> "VALUES (...)"
_VALUES = re.compile(r"\bVALUES (?:\((?:\?|DEFAULT|NULL)(?:, (?:\?|DEFAULT|NULL))*\)(?:, )?)+")
_SPACES = re.compile(r" {2,}")
# Django's savepoint ids carry the thread id: "s140234_x1"
_SAVEPOINT_ID = re.compile(r"\bs\d+_x\d+\b")
_SPACE_AROUND = re.compile(r"\(\s+|\s+\)|\s*,\s*")


def _replace(match: re.Match[str]) -> str:
    kind = match.lastgroup
    if kind == "quoted":
        text = match.group()
        return text[1:-1].replace('""', '"')
    if kind == "space":
        return " "
    if kind == "comment":
        return " "
    return "?"


@lru_cache(maxsize=4096)
def fingerprint(sql: str) -> str:
    """Return the normalised shape of ``sql``: literals -> ``?``, lists folded, quoting removed."""
    text = _TOKEN.sub(_replace, sql)
    if "  " in text:  # a comment between two spaces
        text = _SPACES.sub(" ", text)
    # one canonical spacing around punctuation: "IN(?,?)" and "IN ( ?, ? )" look alike
    text = _SPACE_AROUND.sub(_punct, text).strip()
    text = _IN_LIST.sub("IN (...)", text)
    if "_x" in text:
        text = _SAVEPOINT_ID.sub("?", text)
    return _VALUES.sub("VALUES (...)", text)


def _punct(match: re.Match[str]) -> str:
    return match.group().strip() + (" " if "," in match.group() else "")


def shorten(sql: str, width: int = 240) -> str:
    """Cut the middle out of long SQL so both its start (columns) and end (WHERE) stay visible."""
    sql = " ".join(sql.split())
    if len(sql) <= width:
        return sql
    head = (width - 5) * 2 // 3
    tail = width - 5 - head
    return f"{sql[:head]} ... {sql[-tail:]}"
