"""The chunk lock: TTL from the time limits, re-entrant for the same task, released after."""

from __future__ import annotations

import pytest

from perfkit.warming import chunks

pytestmark = pytest.mark.redis


def test_lock_ttl_covers_every_attempt_and_the_backoff_waits(settings):
    settings.PERFKIT = {"WARMING_TIME_LIMIT": 300, "WARMING_SOFT_TIME_LIMIT": 240}
    # 4 attempts of 300 s + waits of 1, 2 and 4 s + 1
    assert chunks.lock_ttl() == 1208
    assert [chunks.backoff(n) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]


def test_the_lock_is_reentrant_for_its_task_only_and_released_by_it(redis_cache):
    key = chunks.chunk_lock_key("w", [[[1], {}], [[2], {}]])
    assert key == chunks.chunk_lock_key("w", [[[1], {}], [[2], {}]])
    assert key != chunks.chunk_lock_key("w", [[[1], {}]])
    assert chunks.acquire(redis_cache, key, "task-1", 60)
    assert chunks.acquire(redis_cache, key, "task-1", 60)  # a retry of the same task
    assert not chunks.acquire(redis_cache, key, "task-2", 60)
    chunks.release(redis_cache, key, "task-2")  # not the holder: nothing happens
    assert not chunks.acquire(redis_cache, key, "task-2", 60)
    chunks.release(redis_cache, key, "task-1")
    assert chunks.acquire(redis_cache, key, "task-2", 60)
    assert 55 <= redis_cache.ttl(key) <= 60


@pytest.mark.parametrize(
    ("rate", "per_second"),
    [("100/s", 100.0), ("600/m", 10.0), ("3600/h", 1.0), (None, None), ("fast", None)],
)
def test_rate_limits(rate, per_second):
    assert chunks.per_second(rate) == per_second
