"""Observers of cache operations that do not pass through Django's cache API.

perfkit's cache decorators may read through a backend's own client (one MGET on Redis) instead
of ``cache.get_many``.  ``perfkit.instrument.cachelog.capture_cache`` (behind
``perfkit.testing.capture_cache``, the bench runner and the toolbar panel) still needs to see
those operations, so such code reports them here.  The check is one
truthiness test of a list when nobody observes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["CacheObserver", "cache_observers", "report_cache_op"]

# observer(op, alias, key, hit) where op is a Django cache method name ("get", "get_many",
# "set_many", ...), key is the key as given to Django's API (before KEY_PREFIX/version) and hit
# is True/False for reads, None for writes.
CacheObserver = Callable[[str, str, Any, "bool | None"], None]

cache_observers: list[CacheObserver] = []


def report_cache_op(op: str, alias: str, key: Any, hit: bool | None = None) -> None:
    """Tell every observer about one cache operation made outside Django's cache API."""
    for observer in tuple(cache_observers):
        observer(op, alias, key, hit)
