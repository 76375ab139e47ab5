"""Query groups (duplicates, N+1) of a ``QueryLog`` as plain JSON data.

Used by the bench runner's reports and the debug-toolbar panel.  Accepts any object with the
attributes of ``QueryGroup`` (``fingerprint``/``sql``, ``count``, ``locations``, ``queries``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["group_as_dict", "group_count", "group_sql"]


def group_sql(group: Any) -> str:
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
        "fingerprint": group_sql(group),
        "count": group_count(group),
        "locations": [str(loc) for loc in locations if loc],
    }
    if with_params:
        queries = getattr(group, "queries", None) or ()
        params = getattr(queries[0], "params", None) if queries else None
        data["params"] = "" if params is None else str(tuple(params))
    return data


def group_count(group: Any) -> int:
    count = getattr(group, "count", None)
    if count is None or callable(count):
        return len(getattr(group, "queries", ()) or ())
    return int(count)
