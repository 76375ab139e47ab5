"""``RedisClusterCache``: Django's cache API on a Redis Cluster (redis-py's ``RedisCluster``).

Keys hash to slots held by different nodes, so nothing here sends one multi-key command across
slots: ``get_many`` is redis-py's ``mget_nonatomic`` (keys grouped by slot, one pipelined round
trip per node), ``set_many`` a cluster pipeline of SETs, ``delete_many`` a DEL split by slot.
Values are stored like Django's RedisCache stores them (integers as such, the rest pickled).
"""

from __future__ import annotations

import pickle
import threading
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache

from perfkit._optional import require
from perfkit.backends.failopen import ResilientCacheMixin

require("redis", feature="perfkit.backends' Redis Cluster cache")

import redis.exceptions as _redis_exceptions  # noqa: E402
from redis.cluster import ClusterNode, RedisCluster  # noqa: E402

__all__ = ["RedisClusterBase", "RedisClusterCache"]

CLUSTER_ERRORS: tuple[type[BaseException], ...] = (
    _redis_exceptions.ConnectionError,
    _redis_exceptions.TimeoutError,
    _redis_exceptions.ClusterDownError,  # a master's slots have no node: CLUSTERDOWN
    _redis_exceptions.ClusterError,
    _redis_exceptions.RedisClusterException,  # e.g. no node answers for a slot
    _redis_exceptions.ReadOnlyError,
    _redis_exceptions.OutOfMemoryError,
    OSError,
)


def _dumps(value: Any) -> Any:
    if type(value) is int:
        return value
    return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


def _loads(data: Any) -> Any:
    try:
        return int(data)
    except ValueError:
        return pickle.loads(data)


def _nodes(location: Any) -> list[ClusterNode]:
    items = location if isinstance(location, (list, tuple)) else str(location).split(",")
    nodes = []
    for item in items:
        host, _, port = item.strip().rpartition(":")
        nodes.append(ClusterNode(host or port, int(port) if host else 6379))
    return nodes


class RedisClusterBase(BaseCache):
    """Django's cache API on a Redis Cluster (no breaker: see RedisClusterCache).

    LOCATION: ``"host:port,host:port"`` (any nodes of the cluster: it discovers the rest).
    OPTIONS: redis-py ``RedisCluster`` keyword arguments (``socket_timeout``, ``password``...).
    """

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.startup_nodes = _nodes(server)
        self.client_options = dict(params.get("OPTIONS") or {})
        self._client_key = f"{server}|{sorted(self.client_options.items())!r}"

    @property
    def client(self) -> RedisCluster:
        """The process's ``RedisCluster`` for this LOCATION and OPTIONS (built on first use)."""
        client = _clients.get(self._client_key)
        if client is None:
            with _clients_lock:
                client = _clients.get(self._client_key)
                if client is None:
                    client = RedisCluster(startup_nodes=self.startup_nodes, **self.client_options)
                    _clients[self._client_key] = client
        return client

    def get_backend_timeout(self, timeout: Any = DEFAULT_TIMEOUT) -> Any:
        if timeout == DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        return None if timeout is None else max(0, int(timeout))

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> Any:
        key = self.make_and_validate_key(key, version=version)
        timeout = self.get_backend_timeout(timeout)
        if timeout == 0:
            added = self.client.set(key, _dumps(value), nx=True)
            self.client.delete(key)
            return bool(added)
        return bool(self.client.set(key, _dumps(value), ex=timeout, nx=True))

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        value = self.client.get(self.make_and_validate_key(key, version=version))
        return default if value is None else _loads(value)

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> Any:
        key = self.make_and_validate_key(key, version=version)
        timeout = self.get_backend_timeout(timeout)
        if timeout == 0:
            self.client.delete(key)
        else:
            self.client.set(key, _dumps(value), ex=timeout)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        timeout = self.get_backend_timeout(timeout)
        if timeout is None:
            return bool(self.client.persist(key))
        return bool(self.client.expire(key, timeout))

    def delete(self, key: Any, version: Any = None) -> bool:
        return bool(self.client.delete(self.make_and_validate_key(key, version=version)))

    def get_many(self, keys: Any, version: Any = None) -> dict[Any, Any]:
        key_map = {self.make_and_validate_key(k, version=version): k for k in keys}
        if not key_map:
            return {}
        # grouped by slot, one pipelined round trip per node; never a cross-slot MGET
        values = self.client.mget_nonatomic(list(key_map))
        return {
            key_map[k]: _loads(v) for k, v in zip(key_map, values, strict=True) if v is not None
        }

    def has_key(self, key: Any, version: Any = None) -> bool:
        return bool(self.client.exists(self.make_and_validate_key(key, version=version)))

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        key = self.make_and_validate_key(key, version=version)
        if not self.client.exists(key):
            raise ValueError(f"Key '{key}' not found.")
        return int(self.client.incr(key, delta))

    def set_many(
        self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> list[Any]:
        if not data:
            return []
        timeout = self.get_backend_timeout(timeout)
        pipeline = self.client.pipeline()
        for key, value in data.items():
            made = self.make_and_validate_key(key, version=version)
            if timeout == 0:
                pipeline.delete(made)
            else:
                pipeline.set(made, _dumps(value), ex=timeout)
        pipeline.execute()
        return []

    def delete_many(self, keys: Any, version: Any = None) -> None:
        made = [self.make_and_validate_key(key, version=version) for key in keys]
        if made:
            self.client.delete(*made)  # redis-py splits a DEL by slot

    def clear(self) -> None:
        self.client.flushdb(target_nodes=RedisCluster.PRIMARIES)

    def close(self, **kwargs: Any) -> None:
        """The cluster client is process-wide and kept open."""


class RedisClusterCache(ResilientCacheMixin, RedisClusterBase):
    """RedisClusterBase with perfkit's circuit breaker (one per cluster), fail-open and strict
    view; what ``cache_url("redis+cluster://...")`` gives."""

    perfkit_errors = CLUSTER_ERRORS

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, self._perfkit_setup(f"redis+cluster://{server}", params))


_clients: dict[str, RedisCluster] = {}
_clients_lock = threading.Lock()
