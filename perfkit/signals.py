"""Signals sent by perfkit's cache decorators.

Every signal is sent with ``sender`` = the decorated function's wrapper and these keyword
arguments: ``key`` (the cache key), ``cache`` (the alias); ``cache_hit``/``cache_stale`` add
``age`` (seconds since computed), ``cache_miss`` adds ``compute_time`` once known,
``cache_invalidated`` is sent by ``perfkit.cache.invalidate`` with ``targets``, and
``cache_error`` adds ``error`` (the exception) and ``operation`` (what perfkit was doing).
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["cache_error", "cache_hit", "cache_invalidated", "cache_miss", "cache_stale"]

cache_hit = Signal()
cache_miss = Signal()
cache_stale = Signal()
cache_invalidated = Signal()
cache_error = Signal()
