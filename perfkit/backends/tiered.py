"""TieredCache: a small per-process memory layer in front of a shared cache (Redis, database).

    CACHES = {
        "redis": cache_url("redis://127.0.0.1:6379/0"),
        "default": {
            "BACKEND": "perfkit.backends.TieredCache",
            "LOCATION": "redis",                        # the alias of the shared cache
            "OPTIONS": {"LOCAL_TIMEOUT": 1.0, "LOCAL_MAX_ENTRIES": 1000},
        },
    }

Reads of a key first look in this process's memory (values kept at most ``LOCAL_TIMEOUT``
seconds, pickled like LocMemCache so callers cannot mutate them); writes go to the shared cache and
update this process's copy.  Another process's write is seen after at most ``LOCAL_TIMEOUT``
seconds, EXCEPT for perfkit's own keys: generation keys (``P:g:...``, ``P:f:...``) and
single-flight locks (``...:lock``) are never kept locally, and every perfkit entry is validated
against generations read from the shared cache in the same ``get_many``, so an invalidation
takes effect at once in every process.
"""

from __future__ import annotations

import pickle
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache

from perfkit.conf import perfkit_settings
from perfkit.exceptions import ImproperlyConfiguredError

__all__ = ["TieredCache"]

_MISSING = object()


class _LocalLayer:
    """The process-wide memory of one TieredCache location: key -> (expires, pickled value)."""

    def __init__(self, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self.clock = clock  # tests assign a fake clock to expire copies without sleeping
        self.data: dict[str, tuple[float, bytes]] = {}
        self.lock = threading.Lock()

    def get(self, key: str) -> Any:
        item = self.data.get(key)
        if item is None:
            return _MISSING
        if item[0] < self.clock():
            self.data.pop(key, None)
            return _MISSING
        return pickle.loads(item[1])

    def put(self, key: str, value: Any, ttl: float) -> None:
        blob = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        with self.lock:
            if len(self.data) >= self.max_entries and key not in self.data:
                now = self.clock()
                for old in [k for k, (expires, _) in self.data.items() if expires < now]:
                    del self.data[old]
                if len(self.data) >= self.max_entries:
                    self.data.clear()  # all young: dropping them costs at most one remote read
            self.data[key] = (self.clock() + ttl, blob)

    def drop(self, key: str) -> None:
        self.data.pop(key, None)


_layers: dict[str, _LocalLayer] = {}


class _TieredOps:
    """The tiered logic over one set of remote operations (fail-open, or perfkit_strict)."""

    def __init__(self, owner: TieredCache, ops: Any) -> None:
        self.owner = owner
        self.ops = ops

    def _tierable(self, key: str) -> bool:
        if key.endswith(":lock"):
            return False
        prefix = perfkit_settings.KEY_PREFIX
        return not key.startswith((f"{prefix}:g:", f"{prefix}:f:"))

    def _local_key(self, key: str, version: int | None) -> str:
        return self.owner.remote.make_key(key, version=version)

    def _keep(self, key: str, value: Any, version: int | None, timeout: Any) -> None:
        if not self._tierable(key):
            return
        ttl = self.owner.local_timeout
        if timeout is not DEFAULT_TIMEOUT and timeout is not None:
            if timeout <= 0:
                self.owner.layer.drop(self._local_key(key, version))
                return
            ttl = min(ttl, timeout)
        self.owner.layer.put(self._local_key(key, version), value, ttl)

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        if self._tierable(key):
            local_key = self._local_key(key, version)
            value = self.owner.layer.get(local_key)
            if value is not _MISSING:
                self.owner.remote.validate_key(local_key)  # warn as the remote would have
                return value
        value = self.ops.get(key, _MISSING, version=version)
        if value is _MISSING:
            return default
        self._keep(key, value, version, DEFAULT_TIMEOUT)
        return value

    def get_many(self, keys: Any, version: int | None = None) -> dict[str, Any]:
        found: dict[str, Any] = {}
        remote: list[str] = []
        layer = self.owner.layer
        for key in keys:
            local_key = self._local_key(key, version)
            value = layer.get(local_key) if self._tierable(key) else _MISSING
            if value is _MISSING:
                remote.append(key)
            else:
                self.owner.remote.validate_key(local_key)
                found[key] = value
        if remote:
            fetched = self.ops.get_many(remote, version=version)
            for key, value in fetched.items():
                self._keep(key, value, version, DEFAULT_TIMEOUT)
            found.update(fetched)
        return found

    def set(
        self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> Any:
        result = self.ops.set(key, value, timeout, version=version)
        if result is False:
            self.owner.layer.drop(self._local_key(key, version))
        else:
            self._keep(key, value, version, timeout)
        return result

    def add(
        self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> Any:
        added = self.ops.add(key, value, timeout, version=version)
        if added:
            self._keep(key, value, version, timeout)
        return added

    def set_many(
        self, data: dict[str, Any], timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> Any:
        failed = self.ops.set_many(data, timeout, version=version) or []
        for key, value in data.items():
            if key in failed:
                self.owner.layer.drop(self._local_key(key, version))
            else:
                self._keep(key, value, version, timeout)
        return failed

    def delete(self, key: str, version: int | None = None) -> Any:
        self.owner.layer.drop(self._local_key(key, version))
        return self.ops.delete(key, version=version)

    def delete_many(self, keys: Any, version: int | None = None) -> Any:
        keys = list(keys)
        for key in keys:
            self.owner.layer.drop(self._local_key(key, version))
        return self.ops.delete_many(keys, version=version)

    def touch(self, key: str, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        # the local copy's expiry may now be wrong (timeout=0 expires the key): read it again
        self.owner.layer.drop(self._local_key(key, version))
        return self.ops.touch(key, timeout, version=version)

    def has_key(self, key: str, version: int | None = None) -> bool:
        return self.get(key, _MISSING, version=version) is not _MISSING

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> Any:
        self.owner.layer.drop(self._local_key(key, version))
        return self.ops.incr(key, delta, version=version)

    def decr(self, key: str, delta: int = 1, version: int | None = None) -> Any:
        self.owner.layer.drop(self._local_key(key, version))
        return self.ops.decr(key, delta, version=version)

    def clear(self) -> Any:
        self.owner.layer.data.clear()  # this process's copies; others expire within LOCAL_TIMEOUT
        return self.ops.clear()

    def make_key(self, key: str, version: int | None = None) -> str:
        return self.owner.remote.make_key(key, version=version)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ops, name)


class TieredCache(BaseCache):
    """A per-process memory layer (``LOCAL_TIMEOUT`` seconds) in front of the cache alias
    LOCATION; see the module docstring for what it keeps and what it never keeps."""

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        options = params.get("OPTIONS") or {}
        self.remote_alias = location
        self.local_timeout = float(options.get("LOCAL_TIMEOUT", 1.0))
        self.max_entries = int(options.get("LOCAL_MAX_ENTRIES", 1000))
        self._layer: _LocalLayer | None = None
        self._remote: BaseCache | None = None
        self._open = _TieredOps(self, None)
        self._strict: _TieredOps | None = None

    @property
    def remote(self) -> BaseCache:
        """The shared cache behind the local layer (``caches[LOCATION]``, resolved once)."""
        if self._remote is None:
            from django.conf import settings

            alias = self.remote_alias
            all_caches: dict[str, dict[str, Any]] = getattr(settings, "CACHES", {})
            config = all_caches.get(alias) if isinstance(alias, str) else None
            if config is None or config.get("BACKEND", "").endswith("TieredCache"):
                what = "is itself a TieredCache" if config else "is not an alias of CACHES"
                raise ImproperlyConfiguredError(
                    f"TieredCache's LOCATION {alias!r} {what}. Set LOCATION to the alias of the "
                    f"shared cache behind it (one of: {', '.join(map(repr, all_caches))})."
                )
            self._remote = caches[alias]
            self._open.ops = self._remote
            # one layer per shared storage (server or table, not alias): a write through any
            # TieredCache over it drops the copy every other one would read; its keys are the
            # remote's full keys (prefix and version included)
            storage = f"{config.get('BACKEND')}|{config.get('LOCATION')}|{self.max_entries}"
            self._layer = _layers.setdefault(storage, _LocalLayer(self.max_entries))
        return self._remote

    @property
    def layer(self) -> _LocalLayer:
        """This process's copies of values of the shared cache behind it."""
        if self._layer is None:
            self.remote  # noqa: B018  (resolves the remote and its layer)
        assert self._layer is not None
        return self._layer

    # the remote cache makes and validates the keys: a key_func given to this alias (as
    # Django's tests do) is the remote's
    @property
    def key_func(self) -> Any:
        return self.remote.key_func

    @key_func.setter
    def key_func(self, func: Any) -> None:
        remote = self.__dict__.get("_remote")  # None during BaseCache.__init__
        if remote is not None:
            remote.key_func = func

    @property
    def perfkit_breaker(self) -> Any:
        return getattr(self.remote, "perfkit_breaker", None)

    @property
    def perfkit_strict(self) -> _TieredOps:
        """The tiered view over the shared cache's ``perfkit_strict`` (raises CacheUnavailable)."""
        if self._strict is None:
            self._strict = _TieredOps(self, getattr(self.remote, "perfkit_strict", self.remote))
        return self._strict

    def _ops(self) -> _TieredOps:
        self.remote  # noqa: B018  (resolves the remote on first use)
        return self._open

    def make_key(self, key: str, version: int | None = None) -> str:
        return self.remote.make_key(key, version=version)

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        return self._ops().get(key, default, version)

    def get_many(self, keys: Any, version: int | None = None) -> dict[str, Any]:
        return self._ops().get_many(keys, version)

    def set(
        self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> Any:
        return self._ops().set(key, value, timeout, version)

    def add(
        self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> Any:
        return self._ops().add(key, value, timeout, version)

    def set_many(
        self, data: dict[str, Any], timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> Any:
        return self._ops().set_many(data, timeout, version)

    def delete(self, key: str, version: int | None = None) -> Any:
        return self._ops().delete(key, version)

    def delete_many(self, keys: Any, version: int | None = None) -> Any:
        return self._ops().delete_many(keys, version)

    def touch(self, key: str, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return self._ops().touch(key, timeout, version)

    def has_key(self, key: str, version: int | None = None) -> bool:
        return self._ops().has_key(key, version)

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> Any:
        return self._ops().incr(key, delta, version)

    def decr(self, key: str, delta: int = 1, version: int | None = None) -> Any:
        return self._ops().decr(key, delta, version)

    def clear(self) -> Any:
        return self._ops().clear()

    def close(self, **kwargs: Any) -> None:
        """Django closes every alias after a request; the remote alias is closed on its own."""
