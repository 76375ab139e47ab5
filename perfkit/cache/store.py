"""One cache alias as perfkit talks to it: resolved once per thread, failures visible.

perfkit calls the backend's ``perfkit_strict`` view when it has one (perfkit.backends'
resilient caches), so errors raise instead of being swallowed.  The resolved stores are
forgotten when ``CACHES`` or ``PERFKIT`` change (``override_settings``).

A DatabaseCache shares the caller's database.  While the caller's connection is inside a
transaction, cache queries must not join it: a generation row written there stays locked until
the caller commits (other writers wait, opposite-order writers deadlock), a rollback would undo
a bump made for another database's commit, and a failed cache query would abort the caller's
transaction on PostgreSQL.  So inside a transaction perfkit runs them on a second connection of
its own to the same database, in autocommit (one per thread, closed with the caller's).  SQLite
allows one writer at a time, so there they run in a savepoint of the caller's transaction, and
bumps made there are replayed once the transaction is over (``deferred``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.signals import setting_changed
from django.db import connections, router, transaction
from django.dispatch import receiver

from perfkit.cache import fastlocmem, fastredis
from perfkit.cache.transactions import in_transaction

__all__ = ["Store", "get_store"]

logger = logging.getLogger("perfkit.cache")

_epoch = [0]
_local = threading.local()


class Store:
    """Cache operations on one alias, raising on failure (perfkit decides what to do)."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.backend = caches[alias]
        self.ops: Any = getattr(self.backend, "perfkit_strict", self.backend)
        self.breaker = getattr(self.backend, "perfkit_breaker", None)
        self.db: str | None = None
        self.own_connection = False  # a second connection while the caller's is in a transaction
        if isinstance(self.backend, DatabaseCache):
            self.db = router.db_for_write(self.backend.cache_model_class)
            self.own_connection = connections[self.db].vendor != "sqlite"
        self.fast: Any = None
        if self.ops is self.backend:  # a resilient backend reads through its own wrapper
            self.fast = fastlocmem.for_backend(self.backend, alias)
        if self.fast is None:
            self.fast = fastredis.for_backend(self.backend, alias)

    # methods are looked up on every call: perfkit.testing.capture_cache patches the instance
    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        method = getattr(self.ops, name)
        if self.db is not None:
            connection = connections[self.db]
            if connection.in_atomic_block:
                if self.own_connection and in_transaction(connection):
                    return _on_second_connection(self.db, connection, method, args, kwargs)
                with transaction.atomic(using=self.db):
                    return method(*args, **kwargs)
        return method(*args, **kwargs)

    def deferred(self) -> bool:
        """True when a write now joins the caller's transaction (SQLite): a rollback undoes it."""
        return (
            self.db is not None
            and not self.own_connection
            and in_transaction(connections[self.db])
        )

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        found: dict[str, Any]
        if self.fast is not None:
            found = self.fast.get_many(keys)
        elif self.db is None:
            found = self.ops.get_many(keys)
        else:
            found = self._call("get_many", keys)
        return found

    def set_many(self, mapping: dict[str, Any], timeout: Any) -> Any:
        return self._call("set_many", mapping, timeout=timeout)

    def add(self, key: str, value: Any, timeout: Any) -> bool:
        return bool(self._call("add", key, value, timeout=timeout))

    def delete(self, key: str) -> Any:
        return self._call("delete", key)

    def delete_many(self, keys: list[str]) -> Any:
        return self._call("delete_many", keys)


def _second_connection(db: str, main: Any) -> Any:
    """This thread's own connection to ``db`` next to ``main``; closed whenever ``main`` is."""
    second = getattr(main, "_perfkit_second", None)
    if second is None:
        second = connections.create_connection(db)
        close_main = main.close

        def close() -> None:
            try:
                close_main()
            finally:
                second.close()

        main.close = close
        main._perfkit_second = second
    return second


def _on_second_connection(db: str, main: Any, method: Any, args: Any, kwargs: Any) -> Any:
    # DatabaseCache looks its connection up in ``connections`` on every call: for the length
    # of this call (in this thread only) that is perfkit's own connection, in autocommit
    second = _second_connection(db, main)
    connections[db] = second
    try:
        return method(*args, **kwargs)
    except Exception:
        # a broken connection (server restart) reconnects on the next call
        try:
            second.close()
        except Exception:
            logger.debug("perfkit.cache: closing the cache connection failed", exc_info=True)
        raise
    finally:
        connections[db] = main


def get_store(alias: str) -> Store:
    """This thread's ``Store`` for ``alias`` (KeyError-free: caches[] raises for bad aliases)."""
    stores = getattr(_local, "stores", None)
    if stores is None or _local.epoch != _epoch[0]:
        stores = _local.stores = {}
        _local.epoch = _epoch[0]
    store = stores.get(alias)
    if store is None:
        store = stores[alias] = Store(alias)
    return store


def current_epoch() -> int:
    """Changes whenever CACHES or PERFKIT change; wrappers re-resolve what they cached."""
    return _epoch[0]


@receiver(setting_changed)
def _forget_on_change(*, setting: str, **kwargs: Any) -> None:
    if setting in {"CACHES", "PERFKIT"}:
        _epoch[0] += 1
