"""Signals sent by perfkit's cache decorators.

``sender`` is the cached wrapper (``@cached`` function, or the engine of a ``@cached_view``),
except for ``cache_invalidated`` (sender None).  Keyword arguments:

- ``cache_hit(key, cache, age, dependencies)``: a fresh value was served; ``age`` is seconds
  since it was computed, ``dependencies`` the generation keys (list of str) it was checked
  against.
- ``cache_miss(key, cache, compute_time, dependencies)``: sent after every computation
  (refreshes included; ``perfkit.cache.stats()`` counts misses and refreshes apart).
- ``cache_stale(key, cache, age, dependencies)``: an expired value was served (``stale=``)
  while one caller refreshes it.
- ``cache_invalidated(targets, keys)``: a write or ``invalidate()`` bumped generations;
  ``targets`` are labels such as ``"bookstore.book"`` or ``"bookstore.book:42"``, ``keys`` the
  generation keys bumped.
- ``cache_error(key, cache, error, operation)``: a cache call failed (``operation``: "get",
  "set", "lock", "unlock", "delete", "connect" or "bump"); the caller got the function's own
  result.
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["cache_error", "cache_hit", "cache_invalidated", "cache_miss", "cache_stale"]

cache_hit = Signal()
cache_miss = Signal()
cache_stale = Signal()
cache_invalidated = Signal()
cache_error = Signal()
