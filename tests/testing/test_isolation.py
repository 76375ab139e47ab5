"""isolated_cache(): a private, empty namespace per block on every alias, cleaned up after."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings
from django.core.cache import caches

from perfkit.exceptions import ImproperlyConfiguredError
from perfkit.testing.isolation import isolated_cache, isolation_active
from tests.testing.test_pytest_plugin import run


def _redis_keys(cache, namespace: str) -> list[bytes]:
    return list(cache.client.get_client().scan_iter(match=f"*{namespace}*"))


@pytest.mark.redis
def test_redis_outside_keys_are_invisible_and_inside_keys_are_removed(redis_cache):
    redis_cache.set("greeting", "warm from an earlier run")
    with isolated_cache() as namespace:
        assert isolation_active()
        redis = caches["redis"]
        assert redis.get("greeting") is None  # a fresh CI Redis looks like this
        redis.set("greeting", "inside")
        redis.set("other", 1, timeout=None)
        assert redis.get("greeting") == "inside"
        assert len(_redis_keys(redis, namespace)) == 2
    assert not isolation_active()
    assert caches["redis"].get("greeting") == "warm from an earlier run"
    assert _redis_keys(caches["redis"], namespace) == []  # nothing left behind


def test_locmem_gets_a_store_of_its_own_and_it_is_dropped():
    from django.core.cache.backends import locmem

    caches["default"].set("k", "outside")
    with isolated_cache() as namespace:
        assert caches["default"].get("k") is None
        caches["default"].set("k", "inside")
        location = settings.CACHES["default"]["LOCATION"]
        assert location.endswith(namespace)
        assert location in locmem._caches
    assert caches["default"].get("k") == "outside"
    assert location not in locmem._caches


def test_database_cache_rows_are_deleted(db_cache):
    db_cache.set("k", "outside")
    with isolated_cache(["db"]) as namespace:
        assert settings.CACHES["db"]["KEY_PREFIX"] == f"{settings.TEST_KEY_PREFIX}:{namespace}"
        assert settings.CACHES["default"]["LOCATION"] == "perfkit-tests-default"  # not chosen
        caches["db"].set("k", "inside")
        assert caches["db"].get("k") == "inside"
    assert caches["db"].get("k") == "outside"
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM perfkit_test_cache")
        assert [row[0] for row in cursor.fetchall()] == [f"{settings.TEST_KEY_PREFIX}:1:k"]


def test_nested_blocks_keep_one_namespace():
    with isolated_cache() as outer:
        caches["default"].set("k", 1)
        with isolated_cache() as inner:
            assert inner == outer
            assert caches["default"].get("k") == 1
        assert caches["default"].get("k") == 1


def test_unknown_alias():
    with pytest.raises(ImproperlyConfiguredError) as info, isolated_cache("nope"):
        pass
    assert str(info.value) == (
        "isolated_cache(aliases='nope'): no cache named 'nope' in settings.CACHES; choose "
        "among ['db', 'default', 'redis'] or pass None for all."
    )


def test_a_failed_cleanup_is_logged(caplog, monkeypatch):
    from perfkit.testing import isolation

    def broken(path):
        raise OSError("disk gone")

    monkeypatch.setattr(isolation.shutil, "rmtree", broken)
    file_cache = {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache"}
    monkeypatch.setitem(settings.CACHES, "files", {**file_cache, "LOCATION": "/tmp/x"})
    with caplog.at_level(logging.WARNING, "perfkit.testing"), isolated_cache("files"):
        pass
    assert caplog.messages == [
        "perfkit: could not remove what the block stored in cache 'files' under its private "
        "namespace (OSError: disk gone); it is never read again and expires with its timeout."
    ]


# --- records: the same record on a warm and on a fresh Redis --------------------------------

WARMING = """
from django.core.cache import caches

def test_page(perf_record):
    redis = caches["redis"]
    with perf_record():
        if redis.get("page:1") is None:
            redis.set("page:1", "rendered", timeout=None)
"""


@pytest.mark.redis
@pytest.mark.django_db
@pytest.mark.parametrize("form", ["fixture", "function", "decorator"])
def test_a_record_reproduces_whatever_redis_holds(pytester, redis_cache, form):
    code = WARMING
    if form == "function":  # perfkit.testing.perf_record, isolating the block itself
        code = code.replace("(perf_record)", "()").replace(
            "from django", "from perfkit.testing import perf_record\nfrom django"
        )
    elif form == "decorator":
        code = (
            "from django.core.cache import caches\nfrom perfkit.testing import perf_record\n\n"
            "@perf_record()\ndef test_page():\n"
            "    if caches['redis'].get('page:1') is None:\n"
            "        caches['redis'].set('page:1', 'rendered', timeout=None)\n"
        )
    pytester.makepyfile(test_warm=code)
    run(pytester).assert_outcomes(passed=1)  # written: a miss and a set
    redis_cache.set("page:1", "left by someone else")  # a warm developer Redis
    run(pytester).assert_outcomes(passed=1)  # still a miss and a set: no "-1 misses"
    record = (pytester.path / "test_warm.perf.yml").read_text()
    assert "misses: 1" in record
    assert "op: set" in record


def test_the_isolated_cache_fixture_and_warming_before_a_record(pytester):
    pytester.makepyfile(
        test_fx="""
        from django.core.cache import cache

        def test_first(perfkit_isolated_cache):
            assert perfkit_isolated_cache.startswith("perfkit-isolated-")
            assert cache.get("k") is None
            cache.set("k", 1)

        def test_second(perfkit_isolated_cache):
            assert cache.get("k") is None  # test_first's key is not here

        def test_warm_then_record(perf_record):
            cache.set("k", 1)  # warmed in the test, before the block: a hit inside
            with perf_record():
                assert cache.get("k") == 1
        """
    )
    cache_before = caches["default"].get("k")
    run(pytester).assert_outcomes(passed=3)
    assert caches["default"].get("k") is cache_before is None
    assert "misses: 0" in (pytester.path / "test_fx.perf.yml").read_text()


def test_an_unused_redis_that_is_down_costs_nothing(settings, caplog):
    down = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 5},
    }
    settings.CACHES = {**settings.CACHES, "down": down}
    caches["down"]  # built, as capture_cache builds every alias
    with caplog.at_level(logging.DEBUG, "perfkit.testing"), isolated_cache():
        caches["default"].set("k", 1)
    assert caplog.messages == []  # no connection attempt, no warning
