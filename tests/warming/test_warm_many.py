"""The chunk path of warming, piece by piece: what each shortcut taken for speed must keep.

warm_many's batch of SETs on django-redis (same keys, values, expiry as set_many), a write
landing while a chunk computes, decoding plain chunks, the PROGRESS throttle, the message
summary Celery logs instead of every call.
"""

from __future__ import annotations

import gc
import hashlib
import json
import math
import os
import time
from typing import Any

import pytest
from django.core.cache import caches

from perfkit.cache import MISSING, cached, envelope, generations, invalidate
from perfkit.cache import warm as cache_warm
from perfkit.cache.store import get_store
from perfkit.exceptions import WarmingArgumentError
from perfkit.testing import capture_cache
from perfkit.warming import chunks, tasks, warmer
from perfkit.warming.encoding import decode_calls


@pytest.fixture
def on_redis(redis_cache: Any, db: Any) -> Any:
    return redis_cache


def _raw(cache: Any, key: str) -> Any:
    return cache.client.get_client(), cache.make_key(key)


def test_a_chunk_on_django_redis_stores_what_set_many_would(on_redis):
    @cached(timeout=60, stale=30, cache="redis")
    def square(x: int) -> dict[str, Any]:
        return {"x": x, "square": x * x, "pair": (x, -x)}

    # the test settings' "redis" cache is one perfkit writes to directly
    assert cache_warm.direct_django_redis(get_store("redis").backend) is on_redis.client
    result = square.warm_many([((n,), {}) for n in range(1, 51)])
    assert (result.stored, result.failed) == (50, [])
    assert [square.peek(n) for n in (1, 25, 50)] == [
        {"x": n, "square": n * n, "pair": (n, -n)} for n in (1, 25, 50)
    ]
    # what django-redis' own get decodes: an envelope, under the backend's key prefix/version
    entry = on_redis.get(square.key_for(7))
    assert envelope.is_envelope(entry)
    assert envelope.loaded(entry).value["square"] == 49
    client, made = _raw(on_redis, square.key_for(7))
    # hard expiry = timeout + stale, as set_many(timeout=90) would set it
    assert 89_000 < client.pttl(made) <= 90_000


def test_a_function_cached_forever_is_stored_without_expiry(on_redis):
    @cached(timeout=None, cache="redis")
    def forever(x: int) -> int:
        return x

    assert forever.warm_many([((1,), {}), ((2,), {})]).stored == 2
    client, made = _raw(on_redis, forever.key_for(2))
    assert client.pttl(made) == -1
    assert forever.peek(2) == 2


def test_observed_writes_still_go_through_set_many(on_redis):
    """capture_cache (and the toolbar) see one set_many op per key, as before."""

    @cached(timeout=60, cache="redis")
    def double(x: int) -> int:
        return 2 * x

    double(0)  # its generation exists
    with capture_cache() as log:
        assert double.warm_many([((1,), {}), ((2,), {})]).stored == 2
    assert [op.op for op in log] == ["get_many", "set_many", "set_many"]
    assert double.peek(2) == 4


@pytest.mark.parametrize("cache_alias", ["redis", "default"])
def test_a_write_during_warming_still_wins(cache_alias, request, db):
    """Generations are read before computing: an invalidation landing while the chunk
    computes leaves what it stores stale, and the next call computes afresh."""
    if cache_alias == "redis":
        request.getfixturevalue("redis_cache")
    computed: list[int] = []

    @cached(timeout=60, cache=cache_alias)
    def price(n: int) -> int:
        computed.append(n)
        if n == 2:
            invalidate(price)  # a write to what price depends on, while the chunk runs
        return n * 10

    assert price.warm_many([((1,), {}), ((2,), {}), ((3,), {})]).stored == 3
    assert computed == [1, 2, 3]
    assert [price(1), price(3)] == [10, 30]
    assert computed == [1, 2, 3, 1, 3]  # the stored entries predate the write: recomputed


def test_a_chunk_of_plain_ids_decodes_to_the_same_calls_as_the_long_way():
    plain = [[[1], {}], [["slug"], {}], [[2.5, True, None], {}]]
    calls, failures = decode_calls(json.loads(json.dumps(plain)))
    assert failures == []
    assert calls == [((1,), {}), (("slug",), {}), ((2.5, True, None), {})]
    assert all(type(args) is tuple for args, _ in calls)
    # one call that needs the long way (a tuple argument) decodes the whole chunk that way
    mixed = [*plain, [[{"t": [1, 2]}], {}]]
    calls, failures = decode_calls(mixed)
    assert calls[-1] == (((1, 2),), {})
    assert calls[:3] == [((1,), {}), (("slug",), {}), ((2.5, True, None), {})]


def test_plain_ids_are_planned_without_encode_call_and_the_rest_still_checked(db):
    @cached(timeout=60)
    def show(x: Any) -> Any:
        return x

    w = warmer(show, name="t.plain", args=lambda: [1, "a", True, 2.5, (3, 4)], chunk_size=2)
    assert list(w.encoded_chunks()) == [
        [[[1], {}], [["a"], {}]],
        [[[True], {}], [[2.5], {}]],
        [[[3, 4], {}]],
    ]
    bad = warmer(show, name="t.nan", args=lambda: [1, math.nan])
    with pytest.raises(WarmingArgumentError, match=r"'t\.nan' planned a value"):
        list(bad.encoded_chunks())


class _Recorder:
    """Stands for the Celery task: records the PROGRESS states it is asked to store."""

    def __init__(self) -> None:
        self.states: list[dict[str, Any]] = []

    def update_state(self, *, task_id: str, state: str, meta: dict[str, Any]) -> None:
        assert state == tasks.PROGRESS
        self.states.append(meta)


def test_progress_counts_every_chunk_and_stores_progress_at_most_every_interval(
    on_redis, monkeypatch
):
    parent = "progress-throttle-test"
    cache = caches["redis"]
    cache.set_many({tasks._counter(parent, "done"): 0, tasks._counter(parent, "failed"): 0}, 60)
    now = [1000.0]
    monkeypatch.setattr(tasks.time, "monotonic", lambda: now[0])
    task = _Recorder()
    tasks._report_progress(task, cache, parent, 10, 0, 100)  # the first: stored at once
    now[0] += tasks.PROGRESS_INTERVAL / 2
    tasks._report_progress(task, cache, parent, 10, 1, 100)  # too soon: counted only
    assert task.states == [{"done": 10, "total": 100, "failed": 0}]
    assert cache.get(tasks._counter(parent, "done")) == 20
    now[0] += tasks.PROGRESS_INTERVAL
    tasks._report_progress(task, cache, parent, 70, 0, 100)
    now[0] += 0.001
    tasks._report_progress(task, cache, parent, 10, 0, 100)  # the last chunk: always stored
    assert task.states[1:] == [
        {"done": 90, "total": 100, "failed": 1},
        {"done": 100, "total": 100, "failed": 1},
    ]


def test_celery_logs_a_summary_of_a_chunk_not_every_call():
    calls = [[[n], {}] for n in range(100)]
    shown = tasks._kwargsrepr("w", calls, "p-1", 100)
    assert shown == (
        "{'name': 'w', 'calls': [[[0], {}], [[1], {}], [[2], {}], ... 100 calls], "
        "'parent': 'p-1', 'total': 100}"
    )
    long = [[["x" * 300], {}]] * 5
    assert len(tasks._kwargsrepr("w", long, None, 5)) < 500


def test_release_and_count_frees_only_our_lock_and_never_recreates_a_counter(on_redis):
    cache = caches["redis"]
    done, failed = tasks._counter("rc", "done"), tasks._counter("rc", "failed")
    cache.set_many({done: 5, failed: 0}, 60)
    assert chunks.acquire(cache, "rc-lock", "task-1", 60)
    assert chunks.acquire(cache, "rc-lock", "task-1", 60)  # re-entrant for its task
    assert not chunks.acquire(cache, "rc-lock", "task-2", 60)
    # not the holder: the lock stays, the counters count
    assert chunks.release_and_count(cache, "rc-lock", "task-2", (done, failed), 3, 1) == (8, 1)
    assert not chunks.acquire(cache, "rc-lock", "task-3", 60)
    assert chunks.release_and_count(cache, "rc-lock", "task-1", None, 3, 0) == (-1, -1)
    assert chunks.acquire(cache, "rc-lock", "task-3", 60)
    assert cache.get(done) == 8
    cache.delete(failed)  # expired: reported as -1, and not recreated without a timeout
    assert chunks.release_and_count(cache, "rc-lock", "task-3", (done, failed), 2, 2) == (10, -1)
    assert cache.get(failed) is None
    assert cache.add("rc-lock", 1, 60)  # released


def test_other_caches_and_observed_ones_go_through_the_cache_api(on_redis, settings):
    assert cache_warm.direct_django_redis(caches["redis"]) is caches["redis"].client
    assert cache_warm.direct_django_redis(caches["default"]) is None  # locmem
    assert chunks.release_and_count(caches["default"], "k", "t", None, 1, 0) is None
    with capture_cache():
        assert cache_warm.direct_django_redis(caches["redis"]) is None
    settings.CACHES = {
        **settings.CACHES,
        "quiet": {**settings.CACHES["redis"], "OPTIONS": {"IGNORE_EXCEPTIONS": True}},
    }
    assert cache_warm.direct_django_redis(caches["quiet"]) is None


def test_no_collection_while_planning_and_the_collector_left_as_it_was():
    assert gc.isenabled()
    with tasks._no_collections():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), tasks._no_collections():
        1 / 0  # noqa: B018
    assert gc.isenabled()
    gc.disable()
    try:
        with tasks._no_collections():
            pass
        assert not gc.isenabled()  # it was off: not turned on behind the caller's back
    finally:
        gc.enable()


@pytest.mark.parametrize("cache_alias", ["redis", "default"])
def test_a_chunk_lock_taken_with_the_generations_read(cache_alias, request, db):
    """warm_many(lock=...): one round trip on django-redis, the cache API elsewhere; nothing
    is computed while another task holds the lock, and the holder may take it again."""
    if cache_alias == "redis":
        request.getfixturevalue("redis_cache")
    cache = caches[cache_alias]
    computed: list[int] = []

    @cached(timeout=60, cache=cache_alias)
    def triple(n: int) -> int:
        computed.append(n)
        return 3 * n

    assert chunks.takes_lock_with_read(triple, cache) is (cache_alias == "redis")
    assert cache.add("chunk-lock", 111, 60)  # another task's
    with pytest.raises(cache_warm.LockHeld):
        cache_warm.warm_many(triple, [((1,), {})], lock=("chunk-lock", 222, 60))
    assert computed == []
    cache.delete("chunk-lock")
    result = cache_warm.warm_many(triple, [((1,), {}), ((2,), {})], lock=("chunk-lock", 222, 60))
    assert (result.stored, computed) == (2, [1, 2])
    assert cache.get("chunk-lock") == 222
    # a retry of the same task: its own lock, taken again
    assert cache_warm.warm_many(triple, [((3,), {})], lock=("chunk-lock", 222, 60)).stored == 1
    assert triple.peek(3) == 9
    if cache_alias == "redis":
        client, made = _raw(cache, "chunk-lock")
        assert 55 <= client.ttl(made) <= 60


def test_release_and_count_loads_its_script_when_redis_does_not_have_it(on_redis, monkeypatch):
    """EVALSHA of a script Redis has never seen (or flushed): EVAL runs it instead."""
    cache = caches["redis"]
    unknown = hashlib.sha1(f"not loaded {os.getpid()} {time.time()}".encode())
    monkeypatch.setattr(chunks, "_RELEASE_AND_COUNT_SHA", unknown)
    done, failed = tasks._counter("ns", "done"), tasks._counter("ns", "failed")
    cache.set_many({done: 1, failed: 1}, 60)
    assert chunks.acquire(cache, "ns-lock", "task-1", 60)
    assert chunks.release_and_count(cache, "ns-lock", "task-1", (done, failed), 4, 0) == (5, 1)
    assert cache.add("ns-lock", 1, 60)  # released


def test_warming_within_the_replica_lag_of_a_write_stores_nothing(db, settings, monkeypatch):
    """As for an ordinary miss (tests/cache/test_replicas.py): a value computed within
    PERFKIT["REPLICA_LAG"] seconds of a bump of one of its generations may come from a replica
    that has not seen the write yet; warming must not store it either."""
    now = [1_800_000_000.0]
    monkeypatch.setattr(generations, "clock", lambda: now[0])
    settings.PERFKIT = {**settings.PERFKIT, "REPLICA_LAG": 5}

    @cached(timeout=None)
    def label(n: int) -> str:
        return f"n{n}"

    invalidate(label)  # a write, just now
    assert label.warm_many([((1,), {}), ((2,), {})]).failed == []
    assert label.peek(1) is MISSING
    now[0] += 10  # the replicas have caught up
    assert label.warm_many([((1,), {}), ((2,), {})]).stored == 2
    assert [label.peek(1), label.peek(2)] == ["n1", "n2"]


def test_a_value_redis_cannot_pickle_fails_its_call_only(on_redis):
    @cached(timeout=60, cache="redis")
    def thing(n: int) -> Any:
        return (lambda: n) if n == 2 else n  # a lambda does not pickle

    result = thing.warm_many([((1,), {}), ((2,), {}), ((3,), {})])
    assert result.stored == 2
    assert [(args, reason.split(":")[0]) for args, _kw, reason in result.failed] == [
        ((2,), "AttributeError")
    ]
    assert [thing.peek(1), thing.peek(3)] == [1, 3]
    assert thing.peek(2) is MISSING
