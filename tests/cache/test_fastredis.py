"""The Redis hit path's per-thread connections."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import caches

from perfkit.cache import cached

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def test_thread_churn_does_not_exhaust_the_backends_pool(redis_cache, signal_log):
    @cached(timeout=60, cache="redis")
    def square(x):
        return x * x

    assert square(7) == 49  # stored
    pool = caches["redis"].client.get_client(write=False).connection_pool
    created_before = pool._created_connections
    results: list[int] = []

    def hit() -> None:
        results.append(square(7))

    # more short-lived threads than redis-py's default max_connections (100)
    for _ in range(pool.max_connections + 20):
        thread = threading.Thread(target=hit)
        thread.start()
        thread.join()

    assert results == [49] * (pool.max_connections + 20)
    assert [name for name, _ in signal_log if name == "cache_error"] == []
    assert [name for name, _ in signal_log].count("cache_hit") == pool.max_connections + 20
    # the hit path's connections are not taken from (and never owed to) the pool
    assert pool._created_connections == created_before
