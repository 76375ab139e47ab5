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


@pytest.fixture(params=["default", "redis", "db"])
def any_cache(request, db):
    from django.core.cache import caches

    if request.param == "redis":
        request.getfixturevalue("redis_cache")
    if request.param == "db":
        request.getfixturevalue("db_cache")
    return caches[request.param]


def test_a_late_release_never_deletes_the_next_tasks_lock(any_cache, monkeypatch):
    """The release compares and deletes atomically: no window for the lock to change hands."""
    key = chunks.chunk_lock_key("w", [[[3], {}]])
    assert chunks.acquire(any_cache, key, "task-1", 60)
    original_get = any_cache.get
    changed_hands = []

    def get_then_lock_changes_hands(*args, **kwargs):
        value = original_get(*args, **kwargs)
        # between this read and a delete, task-1's lock expires and task-2 takes it
        any_cache.delete(key)
        assert chunks.acquire(any_cache, key, "task-2", 60)
        changed_hands.append(1)
        return value

    monkeypatch.setattr(any_cache, "get", get_then_lock_changes_hands)
    released = chunks.release(any_cache, key, "task-1")
    monkeypatch.undo()
    if changed_hands:  # a read-then-delete release: task-2's lock must survive it
        assert not chunks.acquire(any_cache, key, "task-3", 60)
    else:  # compared and deleted in one step: no window for the lock to change hands
        assert released is True
        assert chunks.acquire(any_cache, key, "task-3", 60)


@pytest.mark.parametrize(
    ("rate", "per_second"),
    [("100/s", 100.0), ("600/m", 10.0), ("3600/h", 1.0), (None, None), ("fast", None)],
)
def test_rate_limits(rate, per_second):
    assert chunks.per_second(rate) == per_second
