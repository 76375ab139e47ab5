from __future__ import annotations

import logging
import socket
import time

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection, transaction
from django.test import override_settings

from demo_project.bookstore.models import Author
from perfkit.cache import MISSING, cached, generations


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def caches_with(**extra):
    return {**settings.CACHES, **extra}


def down_redis():
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
    }


@pytest.fixture
def down(db):
    with override_settings(CACHES=caches_with(down=down_redis())):
        yield "down"


def test_redis_on_a_closed_port_gives_correct_results(down, signal_log, caplog):
    @cached(timeout=60, cache=down, depends_on=[Author])
    def double(x):
        return x * 2

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="perfkit.cache"):
        results = [double(i % 3) for i in range(20)]
    elapsed = time.monotonic() - started
    assert results == [(i % 3) * 2 for i in range(20)]
    assert elapsed < 10  # connection refused: no timeout is paid per call
    errors = [kw for name, kw in signal_log if name == "cache_error"]
    assert len(errors) == 20
    assert errors[0]["sender"] is double
    assert errors[0]["operation"] == "get"
    assert errors[0]["cache"] == "down"
    assert errors[0]["key"] == double.key_for(0)
    warnings = [r.getMessage() for r in caplog.records if r.name == "perfkit.cache"]
    assert len(warnings) == 1  # rate-limited
    assert warnings[0].startswith(
        f"perfkit.cache: get failed for {double.perfkit_name} on cache 'down' (ConnectionError"
    )
    assert warnings[0].endswith("; the value was computed without the cache")
    from perfkit.cache import stats

    assert stats(double)[double.perfkit_name]["errors"] == 20
    assert double.peek(1) is MISSING


def test_fail_mode_closed_propagates(down, settings):
    settings.PERFKIT = {"KEY_PREFIX": "pkt", "FAIL_MODE": "closed"}

    @cached(timeout=60, cache=down)
    def f():
        return 1

    with pytest.raises(Exception, match=r"Connection refused|Error 111"):
        f()


def test_writes_succeed_and_bumps_are_replayed_when_the_cache_returns(db, redis_cache):
    flaky = settings.CACHES["redis"]
    with override_settings(CACHES=caches_with(flaky=flaky)):

        @cached(timeout=60, cache="flaky", depends_on=[Author])
        def names():
            return sorted(Author.objects.values_list("name", flat=True))

        Author.objects.create(name="A")
        assert names() == ["A"]
        assert names.peek() == ["A"]
    with override_settings(CACHES=caches_with(flaky=down_redis())):
        b = Author.objects.create(name="B")  # the bump cannot reach the cache: kept pending
        assert generations.pending["flaky"] == {
            "pkt:g:bookstore.author",
            f"pkt:g:bookstore.author:{b.pk}",
        }
    with override_settings(CACHES=caches_with(flaky=flaky)):
        assert names() == ["A", "B"]  # the pending bump was replayed before the read
        assert "flaky" not in generations.pending


def test_unpicklable_value_is_returned(db, signal_log):
    @cached(timeout=60)
    def make():
        return lambda: 42

    assert make()() == 42
    assert [kw["operation"] for name, kw in signal_log if name == "cache_error"] == ["set"]


def test_corrupt_entry_is_recomputed_and_replaced(db, signal_log):
    @cached(timeout=60)
    def f(x):
        return x + 1

    f(1)
    backend = caches["default"]
    made = backend.make_key(f.key_for(1))
    backend._cache[made] = b"not a pickle"
    assert f(1) == 2
    assert [kw["operation"] for name, kw in signal_log if name == "cache_error"] == ["get"]
    assert f(1) == 2
    assert f.peek(1) == 2


def test_foreign_value_under_our_key_is_a_miss(db):
    @cached(timeout=60)
    def f(x):
        return x + 1

    caches["default"].set(f.key_for(1), "something else")
    assert f(1) == 2
    assert f.peek(1) == 2


@pytest.mark.django_db(transaction=True)
def test_database_cache_failure_never_breaks_a_write():
    # a DatabaseCache whose table does not exist (say, during migrate): on PostgreSQL a failed
    # cache query inside the writer's transaction would abort it without the savepoint
    missing = {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "perfkit_no_such_table",
    }
    with override_settings(CACHES=caches_with(missing=missing)):

        @cached(timeout=60, cache="missing", depends_on=[Author])
        def count():
            return Author.objects.count()

        with transaction.atomic():
            Author.objects.create(name="A")
            assert count() == 1
            Author.objects.create(name="B")
        assert Author.objects.count() == 2
        assert not connection.needs_rollback
        assert "missing" in generations.pending


def test_async_function_on_a_closed_port(down):
    import asyncio

    @cached(timeout=60, cache=down)
    async def f(x):
        return x + 1

    async def scenario():
        return [await f(1), await f(1), await f.apeek(1)]

    assert asyncio.run(scenario()) == [2, 2, MISSING]


def test_report_and_log_only_share_one_rate_limited_warning(caplog, settings):
    # one warning per (name, operation, error type) and ERROR_LOG_INTERVAL, whichever of the
    # two reported it; log_only has no caller, so its text names no consequence
    from perfkit.cache import failures

    settings.PERFKIT = {**settings.PERFKIT, "ERROR_LOG_INTERVAL": 3600}
    error = ConnectionError("refused")
    with caplog.at_level(logging.WARNING, logger="perfkit.cache"):
        for _ in range(3):
            failures.log_only("shop.rates", "down", error, "set_many")
            failures.report(None, "shop.rates", "k", "down", error, "set_many", closed=False)
            failures.report(None, "shop.rates", "k", "down", error, "bump", closed=False)
            failures.log_only("shop.rates", "down", ValueError("bad"), "set_many")
    assert [r.getMessage() for r in caplog.records if r.name == "perfkit.cache"] == [
        "perfkit.cache: set_many failed for shop.rates on cache 'down' (ConnectionError: refused)",
        "perfkit.cache: bump failed for shop.rates on cache 'down' (ConnectionError: refused); "
        "the invalidation is kept and replayed when the cache answers again",
        "perfkit.cache: set_many failed for shop.rates on cache 'down' (ValueError: bad)",
    ]
