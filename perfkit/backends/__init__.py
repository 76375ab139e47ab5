"""Cache setup from one URL, fail-fast Redis, a circuit breaker, health checks and a doctor.

``perfkit.backends`` imports no Redis library; the backend classes in
``perfkit.backends.resilient`` import redis-py when Django first builds a Redis cache.
"""

from __future__ import annotations

from perfkit.backends.breaker import CircuitBreaker
from perfkit.backends.tiered import TieredCache
from perfkit.backends.urls import CacheURLError, cache_url, caches_from_env

__all__ = ["CacheURLError", "CircuitBreaker", "TieredCache", "cache_url", "caches_from_env"]
