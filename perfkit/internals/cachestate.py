"""Django cache internals that ``perfkit.testing.isolated_cache`` switches and cleans.

- ``CacheHandler._connections``: the per-thread cache objects (which aliases this thread holds).
- ``LocMemCache._cache/_expire_info/_lock`` and the locmem module's ``_caches/_expire_info/
  _locks``: the stores a LOCATION names, so an object already held can point at another one.
- ``FileBasedCache._dir``: the directory a held file cache writes to.
- django-redis ``DefaultClient._clients`` and Django's ``RedisCacheClient._pools``: whether a
  Redis cache has connected (cleaning one that never did would cost a timeout when it is down).
"""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock
from typing import Any

__all__ = [
    "drop_locmem",
    "holds",
    "install",
    "redis_client_if_connected",
    "restore",
    "switch",
    "uninstall",
]


def install() -> None:
    """Nothing to patch: this module only reads and switches cache objects on demand."""


def uninstall() -> None:
    """Nothing to restore."""


def holds(handler: Any, alias: str) -> bool:
    """Whether this thread already created the cache object of ``alias``."""
    return hasattr(handler._connections, alias)


def _locmem() -> Any:
    from django.core.cache.backends import locmem

    return locmem


def switch(cache: Any, kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """Point a held cache object at ``config``'s store; return what ``restore`` puts back."""
    if kind == "locmem":
        locmem = _locmem()
        name = config["LOCATION"]
        before = {"_cache": cache._cache, "_expire_info": cache._expire_info, "_lock": cache._lock}
        cache._cache = locmem._caches.setdefault(name, OrderedDict())
        cache._expire_info = locmem._expire_info.setdefault(name, {})
        cache._lock = locmem._locks.setdefault(name, Lock())
        return before
    if kind == "file":
        before = {"_dir": cache._dir}
        cache._dir = config["LOCATION"]
        return before
    before = {"key_prefix": cache.key_prefix}
    cache.key_prefix = config["KEY_PREFIX"]
    return before


def restore(cache: Any, attributes: dict[str, Any]) -> None:
    """Undo ``switch``."""
    for name, value in attributes.items():
        setattr(cache, name, value)


def drop_locmem(name: str) -> None:
    """Forget the locmem store of LOCATION ``name`` (values, expiries, lock)."""
    locmem = _locmem()
    for store in (locmem._caches, locmem._expire_info, locmem._locks):
        store.pop(name, None)


def redis_client_if_connected(cache: Any) -> Any:
    """The redis-py client of a django-redis or Django ``RedisCache`` that has connected,
    else None (so a Redis that is down costs no timeout when the block never used it)."""
    client = getattr(cache, "client", None)  # django-redis
    if client is not None and hasattr(client, "get_client"):
        connected = getattr(client, "_clients", [True])
        return client.get_client(write=True) if any(connected) else None
    inner = cache.__dict__.get("_cache")  # django.core.cache.backends.redis, once used
    if inner is not None and hasattr(inner, "get_client") and getattr(inner, "_pools", True):
        return inner.get_client(write=True)
    return None
