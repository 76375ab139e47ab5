from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.core.cache import caches

from perfkit.cache import background, cached, clock, set_background_refresher, stats


@pytest.fixture(params=["locmem", "redis"])
def shared_alias(request, db):
    """Backends that threads share (SQLite in-memory databases are per connection)."""
    if request.param == "redis":
        request.getfixturevalue("redis_cache")
        return "redis"
    return "default"


def run_threads(n: int, target: Any) -> list[Any]:
    """Start ``n`` threads together (a barrier) on ``target``; their results, in order."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def worker(i: int) -> None:
        barrier.wait()
        results[i] = target()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_32_threads_on_an_expired_key_run_the_function_once(shared_alias):
    runs = []

    @cached(timeout=0.3, cache=shared_alias, early_refresh=False)
    def slow():
        runs.append(1)
        time.sleep(0.2)
        return len(runs)

    assert slow() == 1
    time.sleep(0.35)  # expired
    assert run_threads(32, slow) == [2] * 32
    assert len(runs) == 2


def test_without_lock_every_thread_computes(db):
    runs = []

    @cached(timeout=60, lock=False)
    def slow():
        runs.append(1)
        time.sleep(0.05)
        return 1

    run_threads(8, slow)
    assert len(runs) == 8


def test_stale_values_are_served_while_one_caller_refreshes(shared_alias, signal_log, settings):
    """REFRESH_THREADS = 0: the caller that wins the lock refreshes in its request."""
    settings.PERFKIT = {**settings.PERFKIT, "REFRESH_THREADS": 0}
    runs = []

    @cached(timeout=0.2, cache=shared_alias, stale=30, early_refresh=False)
    def slow():
        runs.append(1)
        time.sleep(0.2)
        return len(runs)

    assert slow() == 1
    time.sleep(0.25)
    results = run_threads(8, slow)
    assert sorted(results) == [1] * 7 + [2]
    assert len(runs) == 2
    assert sum(1 for name, _ in signal_log if name == "cache_stale") == 7
    counters = stats(slow)[slow.perfkit_name]
    assert (counters["stale"], counters["refreshes"], counters["misses"]) == (7, 1, 1)
    assert slow() == 2


def test_stale_values_are_served_while_a_thread_refreshes(shared_alias, signal_log):
    """The default (REFRESH_THREADS = 1): every caller gets the stale value, none computes."""
    runs = []

    @cached(timeout=0.2, cache=shared_alias, stale=30, early_refresh=False)
    def slow():
        runs.append(threading.current_thread().name)
        time.sleep(0.2)
        return len(runs)

    assert slow() == 1
    time.sleep(0.25)
    assert run_threads(8, slow) == [1] * 8
    assert background.drain(15)
    assert runs == ["MainThread", "perfkit-refresh"]
    assert sum(1 for name, _ in signal_log if name == "cache_stale") == 8
    counters = stats(slow)[slow.perfkit_name]
    assert (counters["stale"], counters["refreshes"], counters["misses"]) == (8, 1, 1)
    assert slow() == 2


def test_background_refresher_takes_the_refresh(db):
    runs, asked = [], []

    @cached(timeout=0.1, stale=30, early_refresh=False)
    def f(x):
        runs.append(x)
        return len(runs)

    with clock.use(clock.FakeClock()) as fake:
        f(1)
        fake.advance(0.15)
        set_background_refresher(
            lambda wrapper, args, kwargs: asked.append((wrapper, args)) or True
        )
        try:
            assert [f(1), f(1)] == [1, 1]  # served stale, twice
        finally:
            set_background_refresher(None)
        # the single-flight lock goes as soon as the refresh is queued: the refresher dedups
        # its own queue (perfkit.warming does, with a lock of its own)
        assert caches["default"].get(f.key_for(1) + ":lock") is None
        assert asked == [(f, (1,)), (f, (1,))]
        assert runs == [1]
        assert f.refresh(1) == 2  # what perfkit.refresh runs
        assert f(1) == 2


def test_a_queued_refresh_does_not_make_the_next_caller_wait(db, settings):
    """After a write, the caller after a queued refresh computes at once (no LOCK_WAIT)."""
    from perfkit.cache import invalidate

    runs, asked = [], []
    settings.PERFKIT = {**settings.PERFKIT, "LOCK_WAIT": 30}

    @cached(timeout=10, stale=30, early_refresh=False)
    def f():
        runs.append(1)
        return len(runs)

    waited = []
    with clock.use(clock.FakeClock()) as fake:
        real_sleep = fake.sleep
        fake.sleep = lambda seconds: (waited.append(seconds), real_sleep(seconds))  # type: ignore[method-assign]
        assert f() == 1
        fake.advance(11)  # stale
        set_background_refresher(lambda *a: asked.append(a) or True)
        try:
            assert f() == 1  # served stale; a refresh is queued (never run here)
        finally:
            set_background_refresher(None)
        invalidate(f)  # a write: the stale entry is no longer servable
        assert f() == 2
    assert waited == []  # nobody waited for the queued refresh's lock
    assert len(asked) == 1


@pytest.mark.parametrize("threads", [0, 1])
def test_failing_background_refresher_falls_back_to_refreshing_in_process(db, settings, threads):
    """A failing installed refresher: perfkit's threads take the refresh, else the request."""
    settings.PERFKIT = {**settings.PERFKIT, "REFRESH_THREADS": threads}
    runs = []

    @cached(timeout=0.1, stale=30, early_refresh=False)
    def f():
        runs.append(threading.current_thread().name)
        return len(runs)

    f()
    time.sleep(0.15)

    def broken(wrapper, args, kwargs):
        raise RuntimeError("broker down")

    set_background_refresher(broken)
    try:
        assert f() == (2 if threads == 0 else 1)
        assert background.drain(15)
    finally:
        set_background_refresher(None)
    assert runs[1] == ("MainThread" if threads == 0 else "perfkit-refresh")
    assert f() == 2


def test_set_background_refresher_rejects_non_callables():
    with pytest.raises(TypeError) as info:
        set_background_refresher(42)
    assert str(info.value) == (
        "set_background_refresher() takes a callable (wrapper, args, kwargs) -> bool or None, "
        "not 42."
    )


def test_xfetch_recomputes_hot_keys_early(db, settings):
    settings.PERFKIT = {"KEY_PREFIX": "pkt", "XFETCH_BETA": 1e9}
    runs = []

    @cached(timeout=60)
    def f():
        runs.append(1)
        time.sleep(0.002)
        return len(runs)

    @cached(timeout=60, early_refresh=False)
    def g():
        runs.append(1)
        time.sleep(0.002)
        return 0

    assert f() == 1
    assert f() == 1  # delta * beta pushes "now" past expiry: refreshed early, in the background
    assert background.drain(15)
    assert f.peek() == 2
    assert stats(f)[f.perfkit_name]["refreshes"] == 1
    g(), g()
    assert len(runs) == 3


def test_waiting_is_bounded_by_lock_wait(db, settings):
    settings.PERFKIT = {"KEY_PREFIX": "pkt", "LOCK_WAIT": 0.2}

    @cached(timeout=60)
    def f():
        return "computed"

    caches["default"].add(f.key_for() + ":lock", 1, 60)  # another process holds the lock
    started = time.monotonic()
    assert f() == "computed"
    waited = time.monotonic() - started
    assert 0.19 <= waited < 2


def test_a_late_lock_holder_does_not_release_the_next_holders_lock(alias):
    """Lock tokens: a holder whose lock expired cannot delete the lock someone else took."""
    from perfkit.cache import stampede
    from perfkit.cache.store import get_store

    store = get_store(alias)
    late = stampede.acquire(store, "pkt:c:late")
    assert late is not None
    assert stampede.acquire(store, "pkt:c:late") is None  # held
    store.delete(stampede.lock_key("pkt:c:late"))  # as if it expired (LOCK_TIMEOUT)
    current = stampede.acquire(store, "pkt:c:late")
    assert current is not None
    assert stampede.release(store, "pkt:c:late", late) is False  # the late holder's release
    assert stampede.acquire(store, "pkt:c:late") is None  # still held by the current one
    assert stampede.release(store, "pkt:c:late", current) is True
    assert stampede.acquire(store, "pkt:c:late") is not None
