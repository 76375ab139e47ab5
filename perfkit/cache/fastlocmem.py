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

_MEMO_SIZE = 4096
_SMALL = 24  # bytes: a pickled int token is 14


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
        self._ints: dict[bytes, int] = {}
        self._data, self._expiry, self._lock = locmem_state(backend)

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        made_keys = self._made
        ints = self._ints
        data, expiry = self._data, self._expiry
        found: dict[str, Any] = {}
        pickled: list[tuple[str, bytes]] = []
        now = time.time()
        with self._lock:
            for key in keys:
                made = made_keys.get(key)
                if made is None:
                    made = self._make(key)
                exp = expiry.get(made, -1)
                if exp is None or exp > now:
                    raw = data[made]
                    data.move_to_end(made, last=False)
                    number = ints.get(raw)
                    if number is None:
                        pickled.append((key, raw))
                    else:
                        found[key] = number
                elif exp != -1:
                    locmem_delete(self.backend, made)
        for key, raw in pickled:
            value = found[key] = pickle.loads(raw)
            if type(value) is int and len(raw) <= _SMALL:
                # generation tokens: immutable, read on every hit; remember the decoding of the
                # stored bytes (a dict lookup is cheaper than pickle.loads)
                if len(ints) >= _MEMO_SIZE:
                    ints.clear()
                ints[raw] = value
        if _observe.cache_observers:
            for key in keys:
                _observe.report_cache_op("get_many", self.alias, key, key in found)
        return found

    def _make(self, key: str) -> str:
        if len(self._made) >= _MEMO_SIZE:
            self._made.clear()
        made = self._made[key] = self.backend.make_and_validate_key(key)
        return made
