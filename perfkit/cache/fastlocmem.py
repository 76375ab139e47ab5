"""The hit path's read on LocMemCache: one lock, no per-key validation, made keys memoised.

Django's ``LocMemCache.get_many`` validates every key (memcached rules) and takes the lock once
per key; a decorator reading an entry plus its generations needs neither.  Reports every key
to ``perfkit.instrument.observe`` observers, since Django's cache API does not see this read
(docs/architecture.md, "The hit path").
"""

from __future__ import annotations

import pickle
import time
from typing import Any

from django.core.cache.backends.locmem import LocMemCache

from perfkit.instrument import observe as _observe
from perfkit.internals.caches import locmem_delete, locmem_state

__all__ = ["FastLocMem", "for_backend"]


def for_backend(backend: Any, alias: str) -> FastLocMem | None:
    """A ``FastLocMem`` for Django's own LocMemCache (not a subclass), else None."""
    if type(backend) is not LocMemCache:
        return None
    return FastLocMem(backend, alias)


class FastLocMem:
    """``get_many`` for one LocMemCache."""

    def __init__(self, backend: LocMemCache, alias: str) -> None:
        self.alias = alias
        self.backend = backend
        self._made: dict[str, str] = {}
        self._data, self._expiry, self._lock = locmem_state(backend)

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        made_keys = self._made
        backend = self.backend
        data, expiry = self._data, self._expiry
        found: dict[str, Any] = {}
        pickled: list[tuple[str, bytes]] = []
        now = time.time()
        with self._lock:
            for key in keys:
                made = made_keys.get(key)
                if made is None:
                    if len(made_keys) > 4096:
                        made_keys.clear()
                    made = made_keys[key] = backend.make_and_validate_key(key)
                exp = expiry.get(made, -1)
                if exp is None or exp > now:
                    pickled.append((key, data[made]))
                    data.move_to_end(made, last=False)
                elif exp != -1:
                    locmem_delete(backend, made)
        for key, raw in pickled:
            found[key] = pickle.loads(raw)
        if _observe.cache_observers:
            for key in keys:
                _observe.report_cache_op("get_many", self.alias, key, key in found)
        return found
