"""Fail-open cache backends with a circuit breaker (docs/architecture.md, "Failures").

Each backend class here carries

- ``perfkit_breaker``: the process-wide :class:`~perfkit.backends.breaker.CircuitBreaker` of its
  server (``allow()``, ``success()``, ``failure(exc)``, ``is_open``);
- ``perfkit_strict``: the same backend whose cache methods RAISE
  :class:`perfkit.exceptions.CacheUnavailable` (at once while the breaker is open, or chained to
  the connection error) instead of swallowing it.  perfkit.cache calls through it.

Ordinary callers (``cache.get(...)`` in user code, sessions, Django's cache middleware) fail open
while ``OPTIONS["FAIL_OPEN"]`` is true (default: ``PERFKIT["FAIL_MODE"] == "open"``): get ->
default, get_many -> {}, set/add/delete/touch/has_key -> False, set_many -> the keys not stored.
``incr``/``decr`` have no safe answer and raise CacheUnavailable.

The fail-open machinery is ``perfkit.backends.failopen``.  Redis classes live in
``_redis_backends`` and are imported on first use (module ``__getattr__``), so the database
backend works without redis-py installed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache.backends.db import DatabaseCache as _DjangoDatabaseCache
from django.db import (
    DatabaseError,
    OperationalError,
    ProgrammingError,
    connections,
    router,
    transaction,
)

from perfkit.backends.failopen import ResilientCacheMixin, StrictCache

# RedisCache, DjangoRedisCache, RedisClusterCache, ConnectionFactory and
# SentinelConnectionFactory also live here, loaded by the module __getattr__ at the bottom
__all__ = ["DatabaseCache", "ResilientCacheMixin", "StrictCache"]


class DatabaseCache(ResilientCacheMixin, _DjangoDatabaseCache):
    """Django's DatabaseCache, fail-open; on PostgreSQL a failing cache query inside the caller's
    transaction runs in a savepoint, so it cannot abort that transaction."""

    perfkit_errors = (DatabaseError,)

    def __init__(self, table: str, params: dict[str, Any]) -> None:
        super().__init__(table, self._perfkit_setup(f"db://{table}", params))

    def _perfkit_is_outage(self, exc: BaseException) -> bool:
        # a lost connection or a missing table; not the error of one caller's aborted
        # transaction (InternalError on PostgreSQL), which says nothing about the server
        return isinstance(exc, (OperationalError, ProgrammingError))

    def _perfkit_invoke(self, method: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        alias = router.db_for_write(self.cache_model_class)
        connection = connections[alias]
        if connection.vendor == "postgresql" and connection.in_atomic_block:
            with transaction.atomic(using=alias):
                return method(*args, **kwargs)
        return method(*args, **kwargs)


_REDIS_NAMES = {"RedisCache", "DjangoRedisCache", "ConnectionFactory", "SentinelConnectionFactory"}


def __getattr__(name: str) -> Any:
    if name == "RedisClusterCache":
        from perfkit.backends import _cluster

        return _cluster.RedisClusterCache
    if name in _REDIS_NAMES:
        from perfkit.backends import _redis_backends

        return getattr(_redis_backends, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
