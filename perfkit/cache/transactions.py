"""What an open transaction means for the cache: commit-time bumps, dirty keys, isolation.

Inside a real transaction (a test case's own atomic blocks count as committed) a write's
generations are bumped when the transaction commits, not when the write runs: one
``on_commit`` callback per savepoint level collects every key written there, so 10,000 saves in
one transaction bump once.  Until the commit those keys are *dirty* for this thread: calls that
depend on them bypass the cache (they read the block's own writes) and store nothing, because
the block may still roll back.

The dirty keys follow Django's own bookkeeping of ``on_commit`` callbacks: a released savepoint
leaves its callback to the enclosing block (its keys stay dirty there), a rolled-back savepoint
drops its callback (only its own keys stop being dirty), a commit runs them, a rollback drops
them all.  Nothing here runs on a cache hit unless this thread has written in a transaction.

A transaction above READ COMMITTED (REPEATABLE READ, MySQL's default, or SERIALIZABLE) reads
from a snapshot that may predate another process's commit and its bump: what it computes is
served but never stored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections

from perfkit.internals import orm

__all__ = ["defer", "in_transaction", "snapshot_isolated", "uncommitted"]


class _State(threading.local):
    # a class default: reading a missing attribute of a threading.local raises internally and
    # costs about 1 us, which every cache hit would pay
    levels: dict[tuple[Any, ...], _Level] | None = None


_tx = _State()
_ISOLATED = {"repeatable read", "repeatable_read", "serializable", "snapshot"}


def in_transaction(connection: Any) -> bool:
    """True inside an atomic block that is not one of a test case's own blocks."""
    return connection.in_atomic_block and any(
        not orm.testcase_block(block) for block in connection.atomic_blocks
    )


class _Level:
    """The keys written at one savepoint level of one connection, and their commit callback."""

    __slots__ = ("bump", "dirty", "flush", "keys")

    def __init__(
        self, keys: set[str], flush: Callable[[], None], bump: Callable[[list[str]], None]
    ) -> None:
        self.keys = keys
        self.flush = flush
        self.bump = bump
        self.dirty = False  # written inside a real transaction (not a test case's block)


def _registered(connection: Any, level: _Level) -> bool:
    return any(item[1] is level.flush for item in connection.run_on_commit)


def defer(connection: Any, using: str, keys: list[str], bump: Callable[[list[str]], None]) -> None:
    """Run ``bump(keys)`` when ``connection``'s transaction commits; keys dirty until then.

    Outside a real transaction (a test case's blocks) the keys are not dirty: the caller bumps
    at once and this only registers the commit-time bump.
    """
    levels = _tx.levels
    if levels is None:
        levels = _tx.levels = {}
    ident = (using, id(connection), tuple(connection.savepoint_ids))
    dirty = in_transaction(connection)
    level = levels.get(ident)
    if level is not None and level.dirty == dirty and _registered(connection, level):
        level.keys.update(keys)
        return
    collected = set(keys)

    def flush() -> None:
        if levels.get(ident) is level:
            del levels[ident]
        bump(sorted(collected))

    if len(levels) > 1000:  # levels of rolled-back transactions: their callbacks are gone
        _prune(levels)
    level = levels[ident] = _Level(collected, flush, bump)
    level.dirty = dirty
    connection.on_commit(flush, robust=True)


def _prune(levels: dict[tuple[Any, ...], _Level]) -> None:
    for ident, level in list(levels.items()):
        connection = connections[ident[0]]
        if id(connection) != ident[1] or not _registered(connection, level):
            del levels[ident]


def uncommitted(keys: tuple[str, ...] | list[str]) -> bool:
    """True when this thread's open transaction wrote one of ``keys``' targets.

    The caller then bypasses the cache: it reads its own writes and stores nothing.
    """
    levels = _tx.levels
    if not levels:
        return False
    for ident, level in list(levels.items()):
        if not level.dirty:
            continue
        connection = connections[ident[0]]
        if (
            id(connection) != ident[1]
            or not connection.in_atomic_block
            or not _registered(connection, level)
        ):
            del levels[ident]
        elif not in_transaction(connection):
            # the transaction ended inside a test case's own blocks, which count as committed:
            # its bump is due now (Django runs no on_commit callbacks there)
            level.dirty = False
            level.bump(sorted(level.keys))
        elif not level.keys.isdisjoint(keys):
            return True
    return False


def isolation_name(connection: Any) -> str:
    """The isolation level ``connection`` runs its transactions at (lower case, spaces)."""
    options = connection.settings_dict.get("OPTIONS") or {}
    vendor = connection.vendor
    if vendor == "mysql":
        # Django sets READ COMMITTED unless OPTIONS says otherwise; None means the server's
        # default, which is REPEATABLE READ for InnoDB
        value = options.get("isolation_level", "read committed")
        return str(value or "repeatable read").lower()
    if vendor == "postgresql":
        value = options.get("isolation_level")
        if value is None:
            return "read committed"
        try:
            from django.db.backends.postgresql.psycopg_any import IsolationLevel

            return IsolationLevel(value).name.lower().replace("_", " ")
        except (ImportError, ValueError):
            return str(value).lower()
    if vendor == "oracle":
        return str(options.get("isolation_level", "read committed")).lower()
    return "read committed"  # SQLite: one writer at a time; its readers see committed data


def snapshot_isolated() -> bool:
    """True when this thread has an open transaction above READ COMMITTED (do not store)."""
    for connection in connections.all(initialized_only=True):
        if in_transaction(connection) and isolation_name(connection) in _ISOLATED:
            return True
    return False
