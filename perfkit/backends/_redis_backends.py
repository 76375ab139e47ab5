"""Redis backends of ``perfkit.backends.resilient`` (imported on first use: needs redis-py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.cache.backends.redis import RedisCache as _DjangoRedisCache

from perfkit._optional import require
from perfkit.backends.failopen import ResilientCacheMixin
from perfkit.internals.redis import (
    builtin_cache_client,
    connection_factory_pools,
    reuse_builtin_clients,
)

require("django_redis", feature="perfkit.backends' Redis caches")

import redis.exceptions as _redis_exceptions  # noqa: E402
from django_redis import pool as _pool  # noqa: E402
from django_redis.cache import RedisCache as _DjangoRedisRedisCache  # noqa: E402
from django_redis.exceptions import ConnectionInterrupted  # noqa: E402

__all__ = ["ConnectionFactory", "DjangoRedisCache", "RedisCache", "SentinelConnectionFactory"]

REDIS_ERRORS: tuple[type[BaseException], ...] = (
    _redis_exceptions.ConnectionError,  # includes BusyLoadingError, AuthenticationError
    _redis_exceptions.TimeoutError,
    _redis_exceptions.ReadOnlyError,  # a replica during failover
    _redis_exceptions.OutOfMemoryError,
    ConnectionInterrupted,
    OSError,
)


class _PoolPerSettings:
    """django-redis keys its process-wide pools by URL alone, so two aliases on one URL with
    different timeouts or pool sizes silently share the first one's; key by the settings too."""

    pool_cls_kwargs: dict[str, Any]

    if TYPE_CHECKING:  # django-redis's factory, after this class in the MRO, provides it

        def get_connection_pool(self, params: dict[str, Any]) -> Any: ...

    def get_or_create_connection_pool(self, params: dict[str, Any]) -> Any:
        key = (
            params["url"],
            repr(sorted((k, repr(v)) for k, v in params.items() if k != "url")),
            repr(sorted(self.pool_cls_kwargs.items())),
        )
        pools = connection_factory_pools(self)
        pool = pools.get(key)
        if pool is None:
            pool = pools[key] = self.get_connection_pool(params)
        return pool


class ConnectionFactory(_PoolPerSettings, _pool.ConnectionFactory):
    """django-redis's connection factory, with one pool per distinct settings."""


class SentinelConnectionFactory(_PoolPerSettings, _pool.SentinelConnectionFactory):
    """django-redis's Sentinel connection factory, with one pool per distinct settings."""


class RedisCache(ResilientCacheMixin, _DjangoRedisRedisCache):
    """django-redis's RedisCache with perfkit's circuit breaker, fail-open and strict view."""

    perfkit_errors = REDIS_ERRORS

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        params = self._perfkit_setup(server, params)
        # perfkit decides what to swallow; django-redis must let errors through to it
        params["OPTIONS"]["IGNORE_EXCEPTIONS"] = False
        super().__init__(server, params)


class DjangoRedisCache(ResilientCacheMixin, _DjangoRedisCache):
    """Django's built-in RedisCache, with a reused client, the circuit breaker and fail-open."""

    perfkit_errors = REDIS_ERRORS

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, self._perfkit_setup(server, params))
        # Django's RedisCacheClient builds a redis.Redis object on every call (about 60 us on
        # redis-py 8: retry policy copy, event dispatcher...); build one per pool and reuse it
        reuse_builtin_clients(builtin_cache_client(self))
