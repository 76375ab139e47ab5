"""Stale-while-revalidate: the refresh runs in the worker, once per key."""

from __future__ import annotations

import time

import pytest

from tests.warming import cachedfuncs
from tests.warming.conftest import queued, running_worker

pytestmark = [
    pytest.mark.redis,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
]


def test_a_stale_entry_is_refreshed_by_the_worker_once(celery_app, records, settings):
    settings.PERFKIT = {**settings.PERFKIT, "REFRESH_IN_BACKGROUND": True}
    first = cachedfuncs.stale_clock(1)
    time.sleep(1.2)  # past the 1 s timeout, within the 120 s stale window
    assert cachedfuncs.stale_clock(1) == first
    assert cachedfuncs.stale_clock(1) == first
    # both stale serves wanted a refresh; the second was dropped (one is already queued)
    assert queued(celery_app) == 1
    with running_worker(celery_app):
        cachedfuncs.wait_for(lambda: cachedfuncs.stale_clock.peek(1) != first, timeout=30)
    fresh = cachedfuncs.stale_clock.peek(1)
    assert fresh != first
    assert fresh.startswith("1@")
    computed = records.recorded()
    assert len(computed) == 2
    assert computed[0].endswith(":MainThread")
    assert not computed[1].endswith(":MainThread")


def test_without_celery_refresh_a_thread_refreshes(celery_app, records):
    """REFRESH_IN_BACKGROUND off: perfkit.cache's own thread refreshes, not the request."""
    from perfkit.cache import background

    first = cachedfuncs.stale_clock(2)
    time.sleep(1.2)
    assert cachedfuncs.stale_clock(2) == first  # stale: the request does not compute
    assert background.drain(15)
    assert queued(celery_app) == 0
    assert cachedfuncs.stale_clock.peek(2) != first
    computed = records.recorded()
    assert computed[0].endswith(":MainThread")
    assert computed[1].endswith(":perfkit-refresh")


def test_with_refresh_threads_0_the_request_refreshes_itself(celery_app, records, settings):
    settings.PERFKIT = {**settings.PERFKIT, "REFRESH_THREADS": 0}
    first = cachedfuncs.stale_clock(2)
    time.sleep(1.2)
    cachedfuncs.stale_clock(2)  # refreshes in this call: nothing to wait for
    assert queued(celery_app) == 0
    assert cachedfuncs.stale_clock.peek(2) != first
    assert all(c.endswith(":MainThread") for c in records.recorded())


@pytest.mark.parametrize("threads", [0, 1])
def test_a_broker_outage_falls_back_to_refreshing_in_process(settings, records, threads):
    """The broker is down: perfkit's thread refreshes (REFRESH_THREADS=0: the request)."""
    from celery import Celery

    from perfkit.cache import background
    from perfkit.warming.celery import configure_celery

    app = Celery("perfkit_dead_broker_tests", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.broker_url = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    configure_celery(app)
    settings.PERFKIT = {
        **settings.PERFKIT,
        "REFRESH_IN_BACKGROUND": True,
        "REFRESH_THREADS": threads,
    }
    first = cachedfuncs.stale_clock(3)
    time.sleep(1.2)
    started = time.monotonic()
    cachedfuncs.stale_clock(3)
    assert time.monotonic() - started < 1.0  # a quick probe, not redis-py's retries
    assert background.drain(15)
    assert cachedfuncs.stale_clock.peek(3) != first
    where = ":MainThread" if threads == 0 else ":perfkit-refresh"
    assert records.recorded()[1].endswith(where)
    # no refresh lock is left behind: the next stale serve may enqueue again
    from django.core.cache import caches

    key = cachedfuncs.stale_clock.key_for(3)
    assert caches["redis"].get(f"pkt:warm:refresh:{key}") is None


def test_no_request_waits_while_the_worker_refreshes(celery_app, records, settings):
    """Issue 14: with Celery, stale serves never compute in the request; one worker refresh."""
    settings.PERFKIT = {**settings.PERFKIT, "REFRESH_IN_BACKGROUND": True}
    first = cachedfuncs.stale_clock(4)
    time.sleep(1.2)
    assert [cachedfuncs.stale_clock(4) for _ in range(20)] == [first] * 20
    assert queued(celery_app) == 1
    with running_worker(celery_app):
        cachedfuncs.wait_for(lambda: cachedfuncs.stale_clock.peek(4) != first, timeout=30)
    computed = records.recorded()
    assert len(computed) == 2
    assert computed[0].endswith(":MainThread")
    assert not computed[1].endswith((":MainThread", ":perfkit-refresh"))  # the worker's


def test_perfkit_refresh_imports_only_installed_apps_modules(settings):
    import sys

    from perfkit.exceptions import WarmingError
    from perfkit.warming.refresh import cached_function

    assert "antigravity" not in sys.modules
    with pytest.raises(WarmingError, match="imports only modules of INSTALLED_APPS"):
        cached_function("antigravity.fly")
    assert "antigravity" not in sys.modules  # never imported
    name = cachedfuncs.stale_clock.perfkit_name
    assert cached_function(name) is cachedfuncs.stale_clock


def test_perfkit_refresh_deletes_only_refresh_locks(redis_cache):
    from perfkit.exceptions import WarmingError
    from perfkit.warming.refresh import release_refresh_lock

    redis_cache.set("pkt:g:bookstore.book", 5)
    with pytest.raises(WarmingError, match="is not a perfkit refresh lock"):
        release_refresh_lock(cachedfuncs.stale_clock, "pkt:g:bookstore.book")
    assert redis_cache.get("pkt:g:bookstore.book") == 5
    lock = "pkt:warm:refresh:" + cachedfuncs.stale_clock.key_for(1)
    redis_cache.set(lock, 1)
    release_refresh_lock(cachedfuncs.stale_clock, lock)
    assert redis_cache.get(lock) is None
