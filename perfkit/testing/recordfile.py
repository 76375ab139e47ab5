"""The ``*.perf.yml`` files: building a record, comparing two, reading and writing safely.

A record is plain data: the query shapes (database, fingerprint, count) and the cache
operation shapes (alias, op, key with variable parts as ``#``, count, misses), in order of
first appearance.  No addresses, timestamps or random values, so files are stable across runs.
Writes are read-modify-write under an exclusive lock (a lock file in the temp directory, so
pytest-xdist workers writing one file lose nothing) and land with an atomic ``os.replace``.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from perfkit._optional import require
from perfkit.exceptions import PerfkitError
from perfkit.instrument.cachelog import READS, CacheLog
from perfkit.instrument.queries import QueryLog
from perfkit.testing.messages import shape

__all__ = ["build", "compare", "key_shape", "load", "locked", "save"]

_VARIABLE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|\b[0-9a-fA-F]{16,}\b|\d+"
)


def key_shape(key: Any) -> str:
    """A cache key with its variable parts (numbers, hex digests, UUIDs) replaced by ``#``."""
    return _VARIABLE.sub("#", str(key))


def build(queries: QueryLog, cache: CacheLog) -> dict[str, Any]:
    """The record of one run: query shapes and cache-operation shapes with counts."""
    shapes: dict[tuple[str, str], int] = {}
    for query in queries.counted():
        ident = (query.alias, query.fingerprint)
        shapes[ident] = shapes.get(ident, 0) + 1
    ops: dict[tuple[str, str, str], list[int]] = {}
    for op in cache.ops:
        counts = ops.setdefault((op.alias, op.op, key_shape(op.key)), [0, 0])
        counts[0] += 1
        counts[1] += op.hit is False
    record: dict[str, Any] = {}
    if shapes:
        record["queries"] = [{"db": a, "sql": s, "count": n} for (a, s), n in shapes.items()]
    if ops:
        record["cache"] = [
            {"cache": a, "op": o, "key": k, "count": n, **({"misses": m} if o in READS else {})}
            for (a, o, k), (n, m) in ops.items()
        ]
    return record


def _where(locations: list[str]) -> str:
    counts: dict[str, int] = {}
    for location in locations:
        counts[location] = counts.get(location, 0) + 1
    if len(counts) == 1:
        return f" from {next(iter(counts))}"
    return " from " + ", ".join(f"{where} ({n}x)" for where, n in counts.items())


def compare(
    old: dict[str, Any], new: dict[str, Any], queries: QueryLog, cache: CacheLog
) -> tuple[list[str], bool]:
    """Readable differences (``+3x `SELECT ...` [default] from x.py:4``) and if any is worse."""
    lines: list[str] = []
    worse = False

    def counts(
        entries: list[dict[str, Any]], fields: tuple[str, ...]
    ) -> dict[tuple[Any, ...], Any]:
        return {tuple(e[f] for f in fields): e for e in entries}

    old_q = counts(old.get("queries", []), ("db", "sql"))
    new_q = counts(new.get("queries", []), ("db", "sql"))
    for ident in [*new_q, *(i for i in old_q if i not in new_q)]:
        before = old_q.get(ident, {}).get("count", 0)
        after = new_q.get(ident, {}).get("count", 0)
        if before == after:
            continue
        db, sql = ident
        where = ""
        if after > before:
            worse = True
            found = [
                q.location or "?" for q in queries.counted() if (q.alias, q.fingerprint) == ident
            ]
            where = _where(found)
        lines.append(
            f"  {after - before:+d}x `{shape(sql)}` [{db}]{where} (now {after}, recorded {before})"
        )
    old_c = counts(old.get("cache", []), ("cache", "op", "key"))
    new_c = counts(new.get("cache", []), ("cache", "op", "key"))
    for ident in [*new_c, *(i for i in old_c if i not in new_c)]:
        alias, op, key = ident
        before, after = old_c.get(ident, {}), new_c.get(ident, {})
        label = f"cache {op} `{key}` [{alias}]"
        found = [
            o.location or "?" for o in cache.ops if (o.alias, o.op, key_shape(o.key)) == ident
        ]
        for field, unit in (("count", "x"), ("misses", " misses")):
            was, now = before.get(field, 0), after.get(field, 0)
            if was != now:
                worse = worse or now > was
                where = _where(found) if now > was and found else ""
                lines.append(f"  {now - was:+d}{unit} {label}{where} (now {now}, recorded {was})")
    return lines, worse


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock for ``path`` (a lock file in the temp dir, keeping tests clean)."""
    digest = hashlib.sha1(str(path.resolve()).encode(), usedforsecurity=False).hexdigest()
    lock_path = Path(tempfile.gettempdir()) / f"perfkit-record-{digest[:20]}.lock"
    with open(lock_path, "a") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: no flock; xdist safety then rests on os.replace alone
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load(path: Path) -> dict[str, Any]:
    """The records of one file (empty when the file does not exist)."""
    yaml = require("yaml", feature="perfkit.testing.perf_record")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PerfkitError(
            f"perf_record: {str(path)!r} is not valid YAML ({exc}); fix it or delete it and "
            "run the tests again to record afresh."
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PerfkitError(
            f"perf_record: {str(path)!r} holds {type(data).__name__}, expected a mapping of "
            "test ids to records; delete it and run the tests again to record afresh."
        )
    return data


def save(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` atomically (temp file + ``os.replace``); an empty mapping removes it."""
    if not data:
        path.unlink(missing_ok=True)
        return
    yaml = require("yaml", feature="perfkit.testing.perf_record")
    text = yaml.safe_dump(
        data, sort_keys=True, default_flow_style=False, allow_unicode=True, width=1000
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
