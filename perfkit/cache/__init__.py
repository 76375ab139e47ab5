"""perfkit.cache: ``@cached`` and ``@cached_view``, invalidated by the ORM writes they depend on.

See docs/cache.md.  Public names::

    from perfkit.cache import cached, cached_view, invalidate, track_fields, MISSING, stats
"""

from __future__ import annotations

from perfkit.cache import checks as _checks  # noqa: F401  (registers perfkit.E1xx)
from perfkit.cache.catalog import MISSING, WarmResult, registry
from perfkit.cache.databases import on_database
from perfkit.cache.decorators import AsyncCachedFunction, CachedFunction, cached
from perfkit.cache.invalidation import invalidate
from perfkit.cache.stampede import set_background_refresher
from perfkit.cache.stats import FunctionStats, reset_stats, stats
from perfkit.cache.targets import track_fields
from perfkit.cache.views import CachedViewMixin, cached_view

__all__ = [
    "MISSING",
    "AsyncCachedFunction",
    "CachedFunction",
    "CachedViewMixin",
    "FunctionStats",
    "WarmResult",
    "cached",
    "cached_view",
    "invalidate",
    "on_database",
    "registry",
    "reset_stats",
    "set_background_refresher",
    "stats",
    "track_fields",
]
