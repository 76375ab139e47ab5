"""One cache alias as perfkit talks to it: resolved once per thread, failures visible.

perfkit calls the backend's ``perfkit_strict`` view when it has one (perfkit.backends'
resilient caches), so errors raise instead of being swallowed.  Calls to a DatabaseCache that
shares a connection inside a transaction run in a savepoint: on PostgreSQL a failed cache query
would otherwise abort the caller's whole transaction.  The resolved stores are forgotten when
``CACHES`` or ``PERFKIT`` change (``override_settings``).
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.signals import setting_changed
from django.db import connections, router, transaction
from django.dispatch import receiver

from perfkit.cache import fastlocmem, fastredis

__all__ = ["Store", "get_store"]

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
        if isinstance(self.backend, DatabaseCache):
            self.db = router.db_for_write(self.backend.cache_model_class)
        self.fast: Any = None
        if self.ops is self.backend:  # a resilient backend reads through its own wrapper
            self.fast = fastlocmem.for_backend(self.backend, alias)
        if self.fast is None:
            self.fast = fastredis.for_backend(self.backend, alias)

    # methods are looked up on every call: perfkit.testing.capture_cache patches the instance
    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        method = getattr(self.ops, name)
        if self.db is not None and connections[self.db].in_atomic_block:
            with transaction.atomic(using=self.db):
                return method(*args, **kwargs)
        return method(*args, **kwargs)

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        if self.fast is not None:
            return self.fast.get_many(keys)
        if self.db is None:
            return self.ops.get_many(keys)
        return self._call("get_many", keys)

    def set_many(self, mapping: dict[str, Any], timeout: Any) -> Any:
        return self._call("set_many", mapping, timeout=timeout)

    def add(self, key: str, value: Any, timeout: Any) -> bool:
        return self._call("add", key, value, timeout=timeout)

    def delete(self, key: str) -> Any:
        return self._call("delete", key)

    def delete_many(self, keys: list[str]) -> Any:
        return self._call("delete_many", keys)


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
