"""Stale-while-revalidate: a caller that finds a servable value never refreshes in its request.

The refresh runs in perfkit.cache.background's thread (``PERFKIT["REFRESH_THREADS"]``).  The
cached functions block on an Event the test releases, so "no caller waits" is checked by what
the callers return while the refresh is still blocked, and by which thread ran the function;
no timing assertions.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections

from perfkit.cache import background, cached, clock, invalidate, stampede, stats
from perfkit.cache.store import get_store
from perfkit.exceptions import ImproperlyConfiguredError
from tests.cache.test_stampede import run_threads

# the refresher's thread has its own database connection: it must see committed data (and, on
# SQLite, the database cache table unlocked), as in production
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _drained() -> Iterator[None]:
    """No refresh of a test outlives it (a blocked one is released by its Gate)."""
    yield
    assert background.drain(30), "a background refresh did not finish"


class Gate:
    """The function's body: records which thread ran it, blocks while closed."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.opened.set()
        self.entered = threading.Event()
        self.threads: list[str] = []
        self.fail = False

    def close(self) -> None:
        self.opened.clear()
        self.entered.clear()

    def __call__(self) -> int:
        self.threads.append(threading.current_thread().name)
        self.entered.set()
        assert self.opened.wait(15), "the test never opened the gate"
        if self.fail:
            raise RuntimeError("database down")
        return len(self.threads)

    def in_requests(self) -> list[str]:
        return [name for name in self.threads if name != "perfkit-refresh"]


@pytest.fixture
def gate() -> Iterator[Gate]:
    gate = Gate()
    yield gate
    gate.opened.set()


def make_stale(func: Any, fake: clock.FakeClock, *args: Any) -> Any:
    value = func(*args)
    fake.advance(11)  # timeout=10: past the soft expiry, within stale=60
    return value


def threads_share(alias: str) -> None:
    """Skip a test whose request threads read at once from the test's in-memory SQLite."""
    if alias == "db" and connections["default"].vendor == "sqlite":
        pytest.skip("SQLite's shared in-memory test database locks tables across threads")


def test_no_caller_waits_when_a_stale_value_exists(alias, gate):
    threads_share(alias)

    @cached(timeout=10, stale=60, cache=alias, early_refresh=False)
    def f():
        return gate()

    with clock.use(clock.FakeClock()) as fake:
        assert make_stale(f, fake) == 1
        gate.close()
        # the refresh blocks in the background: every caller gets the stale value meanwhile
        assert run_threads(4, lambda: [f() for _ in range(10)]) == [[1] * 10] * 4
        assert gate.entered.wait(15)  # the refresh started, in the refresher's thread
        assert gate.in_requests() == ["MainThread"]  # only the seeding call computed in one
        assert f() == 1
        gate.opened.set()
        assert background.drain(15)
        assert f() == 2
    assert gate.threads == ["MainThread", "perfkit-refresh"]
    counters = stats(f)[f.perfkit_name]
    assert (counters["stale"], counters["refreshes"], counters["misses"]) == (41, 1, 1)


def test_exactly_one_refresh_per_stale_key_under_concurrency(alias, gate):
    threads_share(alias)

    @cached(timeout=10, stale=60, cache=alias, early_refresh=False)
    def f(n):
        return (n, gate())

    with clock.use(clock.FakeClock()) as fake:
        make_stale(f, fake, 1)
        make_stale(f, fake, 2)  # two keys: one refresh each
        gate.close()
        results = run_threads(8, lambda: [f(1) for _ in range(5)] + [f(2) for _ in range(5)])
        assert all(r == [(1, 1)] * 5 + [(2, 2)] * 5 for r in results)
        gate.opened.set()
        assert background.drain(15)
        assert sorted([f(1), f(2)]) == [(1, 3), (2, 4)] or sorted([f(1), f(2)]) == [
            (1, 4),
            (2, 3),
        ]
    assert gate.in_requests() == ["MainThread", "MainThread"]
    assert gate.threads.count("perfkit-refresh") == 2


def test_a_failing_background_refresh_serves_stale_and_reports(alias, gate, signal_log):
    @cached(timeout=10, stale=60, cache=alias, early_refresh=False)
    def f():
        return gate()

    with clock.use(clock.FakeClock()) as fake:
        make_stale(f, fake)
        gate.fail = True
        assert f() == 1  # stale; the refresh fails in the background
        assert background.drain(15)
        errors = [kw for name, kw in signal_log if name == "cache_error"]
        assert [(e["operation"], str(e["error"])) for e in errors] == [
            ("refresh", "database down")
        ]
        # the lock is gone (released by its token): the next stale serve tries again
        store = get_store(alias)
        token = stampede.acquire(store, f.key_for())
        assert token is not None
        assert stampede.release(store, f.key_for(), token)
        assert f() == 1
        assert background.drain(15)
        gate.fail = False
        assert f() == 1
        assert background.drain(15)
        assert f() == 4
    assert gate.in_requests() == ["MainThread"]
    assert stats(f)[f.perfkit_name]["errors"] == 2


def test_the_refresh_releases_only_its_own_lock(alias, gate):
    @cached(timeout=10, stale=60, cache=alias, early_refresh=False)
    def f():
        return gate()

    with clock.use(clock.FakeClock()) as fake:
        make_stale(f, fake)
        gate.close()
        assert f() == 1
        assert gate.entered.wait(15)
        store = get_store(alias)
        key = f.key_for()
        store.delete(stampede.lock_key(key))  # as if the refresh's lock expired
        other = stampede.acquire(store, key)  # and another caller took it
        assert other is not None
        gate.opened.set()
        assert background.drain(15)
        assert stampede.acquire(store, key) is None  # the other caller's lock is still there
        assert stampede.release(store, key, other) is True
        assert f() == 2  # the refresh stored


def test_a_write_makes_the_stale_value_unservable_during_a_refresh(db, gate):
    @cached(timeout=10, stale=60, early_refresh=False)
    def f():
        return gate()

    with clock.use(clock.FakeClock()) as fake:
        make_stale(f, fake)
        gate.close()
        assert f() == 1  # stale, refresh blocked in the background
        assert gate.entered.wait(15)
        invalidate(f)  # a write: the stale value and the running refresh are out of date
        gate.opened.set()
        assert background.drain(15)
        # neither the stale 1 nor the 2 the refresh computed before the write is served
        assert f() == 3
        assert f() == 3


def test_refresh_threads_0_refreshes_in_the_request(alias, gate, settings):
    settings.PERFKIT = {**settings.PERFKIT, "REFRESH_THREADS": 0}

    @cached(timeout=10, stale=60, cache=alias, early_refresh=False)
    def f():
        return gate()

    with clock.use(clock.FakeClock()) as fake:
        make_stale(f, fake)
        assert f() == 2  # this caller refreshed, in its request
    assert gate.threads == ["MainThread", "MainThread"]
    assert background.pending() == 0


def test_early_refresh_leaves_the_request(db, gate, settings):
    """XFetch without stale=: the early refresh runs in the background too."""
    settings.PERFKIT = {**settings.PERFKIT, "XFETCH_BETA": 1e9}

    @cached(timeout=60)
    def f():
        return gate()

    assert f() == 1
    f._stats.compute_time = 1.0
    gate.close()
    assert f() == 1  # early: the cached value, the refresh is in the background
    assert gate.entered.wait(15)
    gate.opened.set()
    assert background.drain(15)
    assert gate.threads == ["MainThread", "perfkit-refresh"]


def test_with_stale_xfetch_does_not_refresh_early(db, gate, settings):
    """stale= already spares every caller the wait at expiry: XFetch would only add refreshes."""
    settings.PERFKIT = {**settings.PERFKIT, "XFETCH_BETA": 1e9}

    @cached(timeout=60, stale=60)
    def f():
        return gate()

    assert [f() for _ in range(5)] == [1] * 5
    assert background.drain(15)
    assert gate.threads == ["MainThread"]


def test_a_stale_window_about_to_close_stays_open_for_the_refresh(alias, gate):
    @cached(timeout=10, stale=5, cache=alias, early_refresh=False)
    def f():
        return gate()

    with clock.use(clock.FakeClock()) as fake:
        assert f() == 1
        fake.advance(14.5)  # 0.5 s left of the stale window
        gate.close()
        assert f() == 1
        assert gate.entered.wait(15)
        fake.advance(2)  # past timeout + stale of the original entry: still served
        assert f() == 1
        gate.opened.set()
        assert background.drain(15)
        assert f() == 2
    assert gate.in_requests() == ["MainThread"]


def test_async_functions_are_refreshed_in_the_background(db):
    from asgiref.sync import async_to_sync

    runs: list[str] = []

    @cached(timeout=10, stale=60, early_refresh=False)
    async def f():
        runs.append(threading.current_thread().name)
        return len(runs)

    with clock.use(clock.FakeClock()) as fake:
        assert async_to_sync(f)() == 1
        fake.advance(11)
        assert async_to_sync(f)() == 1
        assert background.drain(15)
        assert async_to_sync(f)() == 2
    # async_to_sync runs the coroutine in a thread of its own, started by the refresher
    assert runs[0] != runs[1]
    assert runs[1] != threading.current_thread().name


@pytest.mark.django_db(transaction=True)
def test_the_refresh_closes_the_database_connections_it_opened():
    from django.contrib.contenttypes.models import ContentType

    seen: list[Any] = []

    @cached(timeout=10, stale=60, early_refresh=False)
    def f():
        seen.append(connections["default"])  # this thread's connection wrapper
        return ContentType.objects.count()

    with clock.use(clock.FakeClock()) as fake:
        count = make_stale(f, fake)
        assert f() == count
        assert background.drain(15)
    refresher = seen[1]
    assert refresher is not connections["default"]
    if refresher.vendor == "sqlite" and refresher.is_in_memory_db():
        pytest.skip("Django never closes an in-memory SQLite connection")
    assert refresher.connection is None


@pytest.mark.parametrize("value", [-1, 65, True, "2", 1.5])
def test_refresh_threads_is_checked(settings, value):
    from perfkit.checks import check_settings

    settings.PERFKIT = {**settings.PERFKIT, "REFRESH_THREADS": value}
    assert [m.id for m in check_settings(None) if "REFRESH_THREADS" in m.msg]
    with pytest.raises(ImproperlyConfiguredError) as info:
        background.threads_setting()
    assert str(info.value).startswith(f'PERFKIT["REFRESH_THREADS"] is {value!r}:')


def test_a_stale_view_is_refreshed_by_its_request(db, settings):
    """@cached_view: the view wrapper checks and stores the response, so its request refreshes."""
    from django.http import HttpResponse
    from django.test import RequestFactory

    from perfkit.cache import cached_view

    settings.DEBUG = True
    calls: list[str] = []

    @cached_view(10, stale=60)
    def page(request):
        calls.append(threading.current_thread().name)
        return HttpResponse(f"page {len(calls)}")

    rf = RequestFactory()
    with clock.use(clock.FakeClock()) as fake:
        assert page(rf.get("/p/")).content == b"page 1"
        fake.advance(11)
        response = page(rf.get("/p/"))
        assert (response.content, response["X-Perfkit-Cache"]) == (b"page 2", "miss")
        assert background.pending() == 0
        response = page(rf.get("/p/"))
        assert (response.content, response["X-Perfkit-Cache"]) == (b"page 2", "hit")
    assert calls == ["MainThread", "MainThread"]


def test_the_refresh_runs_in_the_callers_context(db):
    """Active language and time zone as in the request that handed the refresh off."""
    from django.utils import timezone, translation

    seen: list[tuple[str | None, str]] = []

    @cached(timeout=10, stale=60, early_refresh=False)
    def f():
        seen.append((translation.get_language(), timezone.get_current_timezone_name()))
        return len(seen)

    with clock.use(clock.FakeClock()) as fake:
        with translation.override("fr"), timezone.override("Europe/Paris"):
            make_stale(f, fake)
            assert f() == 1
        assert background.drain(15)
    assert seen == [("fr", "Europe/Paris"), ("fr", "Europe/Paris")]


@pytest.fixture
def one_slot_queue() -> Iterator[None]:
    import queue

    saved = background._state[0]
    state = background._state[0] = background._State()
    state.queue = queue.Queue(1)
    yield
    assert background.drain(30)
    background._state[0] = saved


def test_a_full_queue_refreshes_in_the_request(db, one_slot_queue):
    """The queue is bounded: past it, the caller refreshes itself (as with REFRESH_THREADS=0)."""
    opened, entered = threading.Event(), threading.Event()
    threads: list[str] = []

    @cached(timeout=10, stale=60, early_refresh=False)
    def f(n):
        name = threading.current_thread().name
        threads.append(name)
        if name == "perfkit-refresh":  # the refresher blocks, the request never does
            entered.set()
            assert opened.wait(15)
        return (n, len(threads))

    try:
        with clock.use(clock.FakeClock()) as fake:
            for n in (1, 2, 3):
                f(n)
            fake.advance(11)
            assert f(1) == (1, 1)  # taken by the thread, which blocks
            assert entered.wait(15)
            assert f(2) == (2, 2)  # queued behind it: the queue is full now
            assert f(3) == (3, 5)  # refreshed in this request
            opened.set()
            assert background.drain(15)
    finally:
        opened.set()
    assert threads.count("MainThread") == 4
    assert threads.count("perfkit-refresh") == 2


def test_a_forked_child_starts_its_own_refresher():
    state = background._current()
    state.pid = -1  # as seen from a child forked after the parent started its threads
    try:
        child = background._current()
        assert child is not state
        assert child.threads == []
        assert child.keys == set()
    finally:
        background._state[0] = state
        state.pid = os.getpid()
