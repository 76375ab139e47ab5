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

Redis classes live in ``_redis_backends`` and are imported on first use, so the database backend
works without redis-py installed.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.core.cache.backends.db import DatabaseCache as _DjangoDatabaseCache
from django.db import (
    DatabaseError,
    OperationalError,
    ProgrammingError,
    connections,
    router,
    transaction,
)

from perfkit.backends.breaker import CircuitBreaker, breaker_for
from perfkit.conf import perfkit_settings
from perfkit.exceptions import CacheUnavailable

# RedisCache, DjangoRedisCache, ConnectionFactory and SentinelConnectionFactory also live here,
# loaded by the module __getattr__ at the bottom
__all__ = ["DatabaseCache", "ResilientCacheMixin", "StrictCache"]


def _default(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return args[1] if len(args) > 1 else kwargs.get("default")


def _failed_keys(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    data = args[0] if args else kwargs.get("data", {})
    return list(data)


# guarded method -> what an ordinary (fail-open) caller gets when the backend is down
FALLBACKS: dict[str, Callable[[tuple[Any, ...], dict[str, Any]], Any]] = {
    "get": _default,
    "get_many": lambda a, k: {},
    "set": lambda a, k: False,
    "add": lambda a, k: False,
    "delete": lambda a, k: False,
    "touch": lambda a, k: False,
    "has_key": lambda a, k: False,
    "set_many": _failed_keys,
    "delete_many": lambda a, k: None,
    "clear": lambda a, k: None,
}
# no safe answer: fail-open callers get CacheUnavailable too
UNGUARDED_RAISING = ("incr", "decr")


def _masked(location: Any) -> str:
    return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", str(location))


class StrictCache:
    """The backend's cache API, raising CacheUnavailable instead of failing open."""

    def __init__(self, backend: ResilientCacheMixin) -> None:
        self._backend = backend

    def __getattr__(self, name: str) -> Any:
        if name in FALLBACKS or name in UNGUARDED_RAISING:
            backend = self._backend

            def call(*args: Any, **kwargs: Any) -> Any:
                return backend._perfkit_call(name, args, kwargs)

            call.__name__ = name
            self.__dict__[name] = call  # found directly next time
            return call
        if name[:1] == "a" and (name[1:] in FALLBACKS or name[1:] in UNGUARDED_RAISING):
            # aget, aset_many...: the strict sync method in a thread, as BaseCache does
            acall = sync_to_async(getattr(self, name[1:]))
            self.__dict__[name] = acall
            return acall
        return getattr(self._backend, name)

    def __repr__(self) -> str:
        return f"<StrictCache of {self._backend!r}>"


class ResilientCacheMixin:
    """Adds ``perfkit_breaker``, ``perfkit_strict`` and fail-open methods to a cache backend."""

    # errors that mean "the backend is unavailable"; subclasses set them
    perfkit_errors: tuple[type[BaseException], ...] = (OSError,)
    perfkit_breaker: CircuitBreaker
    perfkit_strict: StrictCache
    # OPTIONS["FAIL_OPEN"]; None: follow PERFKIT["FAIL_MODE"] (read at each failure)
    _perfkit_fail_open: bool | None

    def _perfkit_setup(self, location: Any, params: dict[str, Any]) -> dict[str, Any]:
        """Take perfkit's OPTIONS out of ``params``; returns the params for the base class."""
        params = dict(params)
        options = dict(params.get("OPTIONS") or {})
        fail_open = options.pop("FAIL_OPEN", None)
        self._perfkit_fail_open = None if fail_open is None else bool(fail_open)
        params["OPTIONS"] = options
        self.perfkit_breaker = breaker_for(f"{type(self).__name__}({_masked(location)})")
        self.perfkit_strict = StrictCache(self)
        self._perfkit_local = threading.local()
        return params

    @property
    def perfkit_fail_open(self) -> bool:
        """Do ordinary callers get a default (True) or CacheUnavailable (False) on failure?"""
        if self._perfkit_fail_open is not None:
            return self._perfkit_fail_open
        return bool(perfkit_settings.FAIL_MODE == "open")

    def _perfkit_is_outage(self, exc: BaseException) -> bool:
        """Does ``exc`` mean the server is down (open the breaker) rather than one call failing?"""
        return True

    def _perfkit_invoke(self, method: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        return method(*args, **kwargs)

    def _perfkit_call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Call the base class's ``name`` through the breaker; CacheUnavailable on failure."""
        method = getattr(super(), name)
        local = self._perfkit_local
        if getattr(local, "active", False):
            # nested call (DatabaseCache.get -> get_many): the outer call guards it
            return method(*args, **kwargs)
        breaker = self.perfkit_breaker
        if not breaker.allow():
            error = breaker.last_error
            raise CacheUnavailable(
                f"cache {breaker.name} is unavailable: its circuit breaker opened after "
                f"{type(error).__name__}: {error}; perfkit tries it again in "
                f"{breaker.retry_in():.1f}s (PERFKIT['BREAKER_COOLDOWN'])."
            )
        local.active = True
        try:
            result = self._perfkit_invoke(method, args, kwargs)
        except self.perfkit_errors as exc:
            if self._perfkit_is_outage(exc):
                breaker.failure(exc)
            raise CacheUnavailable(
                f"cache {breaker.name} failed in {name}(): {type(exc).__name__}: {exc}"
            ) from exc
        except Exception:
            breaker.success()  # the server answered (e.g. incr of a missing key)
            raise
        finally:
            local.active = False
        breaker.success()
        return result


def _guarded(name: str) -> Callable[..., Any]:
    fallback = FALLBACKS.get(name)

    def method(self: ResilientCacheMixin, *args: Any, **kwargs: Any) -> Any:
        try:
            return self._perfkit_call(name, args, kwargs)
        except CacheUnavailable:
            if fallback is None or not self.perfkit_fail_open:
                raise
            return fallback(args, kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``{name}`` through the circuit breaker; fails open when FAIL_OPEN is true."
    return method


for _name in (*FALLBACKS, *UNGUARDED_RAISING):
    setattr(ResilientCacheMixin, _name, _guarded(_name))


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
    if name in _REDIS_NAMES:
        from perfkit.backends import _redis_backends

        return getattr(_redis_backends, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
