"""The circuit breaker against a private redis-server that is frozen, killed and restarted."""

from __future__ import annotations

import time
import uuid

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings

from demo_project.bookstore.models import Author
from perfkit.backends import cache_url
from perfkit.backends.breaker import CircuitBreaker
from perfkit.exceptions import CacheUnavailable
from tests.backends.servers import free_port

COOLDOWN = 0.4
SOCKET_TIMEOUT = 0.3


@pytest.fixture
def breaker_settings():
    perfkit = {**settings.PERFKIT, "BREAKER_COOLDOWN": COOLDOWN}
    with override_settings(PERFKIT=perfkit):
        yield


def _cache(url: str, alias: str = "under_test"):
    with override_settings(CACHES={**settings.CACHES, alias: cache_url(url)}):
        return caches[alias]


def timed(func, *args, **kwargs):
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return result, time.perf_counter() - start


def wait_for_probe(breaker):
    breaker.clock.advance(COOLDOWN + 0.05)


@pytest.mark.parametrize("backend", ["django-redis", "django"])
def test_hung_redis_costs_one_timeout_then_nothing(
    redis_server, breaker_settings, backend, fake_clock, monkeypatch
):
    url = f"redis://127.0.0.1:{redis_server.port}/0?socket_timeout={SOCKET_TIMEOUT}"
    cache = _cache(f"{url}&backend={backend}")
    breaker = cache.perfkit_breaker
    breaker.reset()
    monkeypatch.setattr(breaker, "clock", fake_clock)
    cache.set("book", "Dune", 60)
    assert cache.get("book") == "Dune"

    redis_server.pause()
    try:
        value, first = timed(cache.get, "book", "fallback")
        assert value == "fallback"
        assert SOCKET_TIMEOUT * 0.8 < first < SOCKET_TIMEOUT + 1.0  # paid the timeout once
        assert breaker.is_open
        # the breaker is open: no call waits for the socket timeout any more
        for call, args, expected in [
            (cache.get, ("book", "fallback"), "fallback"),
            (cache.get_many, (["book", "other"],), {}),
            (cache.set, ("book", "Emma"), False),
            (cache.add, ("new", 1), False),
            (cache.delete, ("book",), False),
            (cache.has_key, ("book",), False),
            (cache.touch, ("book",), False),
            (cache.set_many, ({"a": 1, "b": 2},), ["a", "b"]),
            (cache.delete_many, (["a"],), None),
        ]:
            result, seconds = timed(call, *args)
            assert result == expected, call.__name__
            assert seconds < SOCKET_TIMEOUT / 3, call.__name__
        with pytest.raises(CacheUnavailable) as info:
            cache.perfkit_strict.get("book")
        assert str(info.value).startswith(
            f"cache {breaker.name} is unavailable: its circuit breaker opened after "
        )
        assert str(info.value).endswith("(PERFKIT['BREAKER_COOLDOWN']).")
        with pytest.raises(CacheUnavailable):
            cache.incr("counter")  # no safe fail-open answer
    finally:
        redis_server.resume()

    wait_for_probe(breaker)
    assert cache.get("book") == "Dune"  # the probe succeeds: recovered
    assert not breaker.is_open


def test_killed_redis_recovers_when_restarted_on_the_same_port(
    redis_server, breaker_settings, fake_clock, monkeypatch
):
    cache = _cache(f"redis://127.0.0.1:{redis_server.port}/0")
    breaker = cache.perfkit_breaker
    breaker.reset()
    monkeypatch.setattr(breaker, "clock", fake_clock)
    assert cache.set("book", "Dune", 60) is True

    redis_server.kill()
    assert cache.get("book", "fallback") == "fallback"
    assert breaker.is_open
    with pytest.raises(CacheUnavailable) as info:
        cache.perfkit_strict.set("book", "Emma")
    assert isinstance(info.value, ConnectionError)

    # still down after the cool-down: the probe fails and the breaker opens again
    wait_for_probe(breaker)
    with pytest.raises(CacheUnavailable) as info:
        cache.perfkit_strict.get("book")
    assert str(info.value).startswith(f"cache {breaker.name} failed in get(): ConnectionError: ")
    assert breaker.is_open

    redis_server.start()
    assert cache.get("book", "fallback") == "fallback"  # cooling down: not tried yet
    wait_for_probe(breaker)
    assert cache.set("book", "Emma", 60) is True
    assert not breaker.is_open
    assert cache.perfkit_strict.get("book") == "Emma"


def test_strict_view_raises_chained_connection_error_and_keeps_the_cache_api(redis_server):
    cache = _cache(f"redis://127.0.0.1:{redis_server.port}/0?key_prefix=k")
    cache.perfkit_breaker.reset()
    strict = cache.perfkit_strict
    assert strict.make_key("x") == cache.make_key("x") == "k:1:x"
    strict.set("x", 1)
    assert strict.get("x") == 1
    assert strict.incr("x") == 2
    with pytest.raises(ValueError):
        strict.incr("missing")  # an answer from the server, not an outage
    assert not cache.perfkit_breaker.is_open
    redis_server.kill()
    with pytest.raises(CacheUnavailable) as info:
        strict.get_many(["x"])
    assert type(info.value.__cause__).__name__ == "ConnectionError"


def test_fail_open_off_raises_to_ordinary_callers(redis_server, breaker_settings):
    cache = _cache(f"redis://127.0.0.1:{redis_server.port}/0?fail_open=false")
    cache.perfkit_breaker.reset()
    redis_server.kill()
    with pytest.raises(CacheUnavailable):
        cache.get("book")


def test_one_breaker_per_server_shared_by_every_thread_instance(redis_server):
    url = f"redis://127.0.0.1:{redis_server.port}/0"
    first, second = _cache(url, "one"), _cache(url, "two")
    assert first is not second
    assert first.perfkit_breaker is second.perfkit_breaker


def test_password_is_masked_in_the_breaker_name():
    cache = _cache("redis://:hunter2@127.0.0.1:1/0")
    assert cache.perfkit_breaker.name == "RedisCache(redis://:***@127.0.0.1:1/0)"


def test_breaker_threshold_half_open_single_probe(fake_clock):
    breaker = CircuitBreaker("test", threshold=2, cooldown=0.05, clock=fake_clock)
    assert breaker.allow()
    breaker.failure(OSError("down"))
    assert not breaker.is_open
    assert breaker.allow()
    breaker.failure(OSError("down"))
    assert breaker.is_open
    assert not breaker.allow()
    fake_clock.advance(0.06)
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # only one caller probes
    breaker.failure(OSError("still down"))
    assert breaker.is_open
    assert not breaker.allow()
    fake_clock.advance(0.06)
    assert breaker.allow()
    breaker.success()
    assert not breaker.is_open
    assert breaker.allow()
    assert repr(breaker) == "<CircuitBreaker test closed failures=0>"


def test_a_probe_that_never_reports_back_expires(fake_clock):
    breaker = CircuitBreaker("test", threshold=1, cooldown=0.05, clock=fake_clock)
    breaker.failure(OSError("down"))
    fake_clock.advance(0.06)
    assert breaker.allow()
    fake_clock.advance(0.06)
    assert breaker.allow()  # the first prober vanished; another may probe


@pytest.mark.django_db
def test_database_cache_fails_open_without_its_table():
    cache = _cache(f"db://perfkit_missing_{uuid.uuid4().hex[:8]}")
    cache.perfkit_breaker.reset()
    assert cache.get("book", "fallback") == "fallback"
    assert cache.set("book", 1) is False
    assert cache.perfkit_breaker.is_open
    with pytest.raises(CacheUnavailable):
        cache.perfkit_strict.get("book")
    cache.perfkit_breaker.reset()
    # on PostgreSQL the failed query ran in a savepoint: the test's transaction still works
    assert Author.objects.create(name="Le Guin").pk
    assert cache.get("book", "fallback") == "fallback"
    assert Author.objects.count() == 1


def test_fail_open_follows_perfkit_fail_mode_unless_set(redis_server):
    port = redis_server.port
    follows = _cache(f"redis://127.0.0.1:{port}/0", "follows")
    pinned = _cache(f"redis://127.0.0.1:{port}/0?fail_open=true", "pinned")
    follows.perfkit_breaker.reset()
    redis_server.kill()
    assert follows.get("book", "fallback") == "fallback"
    with override_settings(PERFKIT={**settings.PERFKIT, "FAIL_MODE": "closed"}):
        with pytest.raises(CacheUnavailable):
            follows.get("book")
        assert pinned.get("book", "fallback") == "fallback"


def test_strict_view_async_methods_raise_too(redis_server):
    import asyncio

    cache = _cache(f"redis://127.0.0.1:{redis_server.port}/0")
    cache.perfkit_breaker.reset()
    strict = cache.perfkit_strict
    asyncio.run(strict.aset("x", 1))
    assert asyncio.run(strict.aget("x")) == 1
    redis_server.kill()
    assert asyncio.run(cache.aget("x", "fallback")) == "fallback"  # ordinary: fails open
    with pytest.raises(CacheUnavailable):
        asyncio.run(strict.aget_many(["x"]))
    cache.perfkit_breaker.reset()


def test_each_fail_open_answer_is_counted_on_the_breaker():
    cache = _cache(f"redis://127.0.0.1:{free_port()}/0")
    breaker = cache.perfkit_breaker
    breaker.reset()
    before = breaker.failed_open
    assert cache.get("book", "fallback") == "fallback"
    assert cache.set("book", "Dune") is False
    assert breaker.failed_open == before + 2
