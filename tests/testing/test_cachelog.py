from __future__ import annotations

import asyncio

import pytest
from django.core.cache import caches

from perfkit.exceptions import ImproperlyConfiguredError, PerfAssertionError
from perfkit.instrument.observe import cache_observers, report_cache_op
from perfkit.testing import CacheOp, assert_cache_ops, capture_cache
from tests.testing.helpers import here


def test_every_operation_is_recorded_with_hit_and_location():
    cache = caches["default"]
    cache.set("present", 1)
    with capture_cache() as log:
        assert cache.get("present") == 1
        line = here(-1)
        assert cache.get("absent", "dflt") == "dflt"
        assert cache.get_many(["present", "absent"]) == {"present": 1}
        cache.set_many({"a": 1, "b": 2})
        cache.add("a", 5)
        assert cache.has_key("b")
        cache.incr("a")
        cache.delete("a")
        cache.delete_many(["b", "c"])
        cache.touch("present")
    assert [(o.op, o.key, o.hit) for o in log] == [
        ("get", "present", True),
        ("get", "absent", False),
        ("get_many", "present", True),
        ("get_many", "absent", False),
        ("set_many", "a", None),
        ("set_many", "b", None),
        ("add", "a", None),
        ("has_key", "b", True),
        ("incr", "a", None),
        ("delete", "a", None),
        ("delete_many", "b", None),
        ("delete_many", "c", None),
        ("touch", "present", None),
    ]
    assert log[0] == CacheOp("get", "default", "present", True, line)
    assert (log.hits, log.misses, log.sets, log.deletes) == (3, 2, 3, 3)
    assert repr(log) == "<CacheLog 13 ops: 3 hits, 2 misses, 3 sets, 3 deletes>"


def test_methods_are_restored_on_exit():
    cache = caches["default"]
    with capture_cache():
        assert "get" in vars(cache)
        assert len(cache_observers) == 1
    assert "get" not in vars(cache)
    assert cache_observers == []


def test_async_forms_are_recorded_once():
    cache = caches["default"]

    async def work() -> None:
        await cache.aset("k", 1)
        assert await cache.aget("k") == 1
        assert await cache.aget("nope") is None
        await cache.aget_many(["k"])

    with capture_cache() as log:
        asyncio.run(work())
    assert [(o.op, o.hit) for o in log] == [
        ("aset", None),
        ("aget", True),
        ("aget", False),
        ("aget_many", True),
    ]
    assert (log.hits, log.misses, log.sets) == (2, 1, 1)


def test_observer_reports_ops_made_through_a_raw_client():
    with capture_cache("redis") as log:
        report_cache_op("get_many", "redis", "k1", True)
        report_cache_op("get_many", "default", "k2", False)  # other alias: not in scope
    assert [(o.op, o.alias, o.key, o.hit) for o in log] == [("get_many", "redis", "k1", True)]


@pytest.mark.redis
def test_real_redis_alias(redis_cache):
    with capture_cache(["redis"]) as log:
        redis_cache.set("perfkit-capture", "v")
        assert redis_cache.get("perfkit-capture") == "v"
        caches["default"].get("x")  # other alias
    assert [(o.alias, o.op, o.hit) for o in log] == [
        ("redis", "set", None),
        ("redis", "get", True),
    ]


def test_database_cache_alias(db_cache):
    with capture_cache("db") as log:
        db_cache.set("k", 1)
        db_cache.get_many(["k", "j"])
    assert [(o.op, o.key, o.hit) for o in log] == [
        ("set", "k", None),
        ("get_many", "k", True),
        ("get_many", "j", False),
    ]


def test_unknown_alias_is_a_clear_error():
    with pytest.raises(ImproperlyConfiguredError) as info, capture_cache("nope"):
        pass
    assert str(info.value) == (
        "capture_cache(aliases=['nope']): no cache named 'nope' in settings.CACHES; choose "
        "among ['db', 'default', 'redis'] or pass None for all."
    )


def test_assert_cache_ops():
    cache = caches["default"]
    with assert_cache_ops(misses=1, sets=1, hits=1, deletes=0):
        cache.get("k")
        cache.set("k", 1)
        cache.get("k")
    with pytest.raises(PerfAssertionError) as info, assert_cache_ops(misses=0, sets=0):  # noqa: PT012
        cache.get("missing")
        line = here(-1)
    assert str(info.value) == (
        "Unexpected cache operations: misses: expected 0, got 1.\n"
        "\n"
        "Cache operations:\n"
        f"  1. [default] get 'missing' miss  {line}"
    )
    with pytest.raises(ImproperlyConfiguredError) as error:
        assert_cache_ops()
    assert str(error.value) == (
        "assert_cache_ops() checks nothing: pass at least one of hits=, misses=, sets=, deletes=."
    )


def test_strict_view_of_resilient_backends_is_recorded_once(settings):
    settings.CACHES = {
        **settings.CACHES,
        "strict": {
            "BACKEND": "tests.testing.backends.LocMemWithStrictView",
            "LOCATION": "perfkit-testing-strict",
        },
    }
    strict = caches["strict"].perfkit_strict
    original_get = strict.get  # created lazily into the view's __dict__
    with capture_cache("strict") as log:
        strict.set("k", 1)
        assert strict.get("k") == 1
        assert strict.get_many(["k", "x"]) == {"k": 1}
        assert caches["strict"].get("x") is None
    assert [(o.op, o.key, o.hit) for o in log] == [
        ("set", "k", None),
        ("get", "k", True),
        ("get_many", "k", True),
        ("get_many", "x", False),
        ("get", "x", False),
    ]
    assert vars(strict)["get"] is original_get
    assert "set" not in vars(strict)
    assert "get" not in vars(caches["strict"])


def test_keyword_arguments_are_recorded():
    cache = caches["default"]
    with capture_cache() as log:
        cache.set(key="x", value=1)
        assert cache.get(key="x") == 1
        assert cache.get(key="nope", default="d") == "d"
        cache.add(key="y", value=2)
        cache.set_many(data={"a": 1})
        assert cache.get_many(keys=["a", "b"]) == {"a": 1}
        assert cache.has_key(key="a")
        cache.delete_many(keys=["a"])
        cache.delete(key="x")
    assert [(o.op, o.key, o.hit) for o in log] == [
        ("set", "x", None),
        ("get", "x", True),
        ("get", "nope", False),
        ("add", "y", None),
        ("set_many", "a", None),
        ("get_many", "a", True),
        ("get_many", "b", False),
        ("has_key", "a", True),
        ("delete_many", "a", None),
        ("delete", "x", None),
    ]


def test_get_or_set_is_one_operation():
    cache = caches["default"]
    with capture_cache() as log:
        assert cache.get_or_set("k", lambda: 1) == 1  # a miss that stores
        assert cache.get_or_set(key="k", default=2) == 1  # a hit
        assert asyncio.run(cache.aget_or_set("j", 3)) == 3
    assert [(o.op, o.key, o.hit) for o in log] == [
        ("get_or_set", "k", False),
        ("get_or_set", "k", True),
        ("aget_or_set", "j", False),
    ]
    assert (log.hits, log.misses, log.sets) == (1, 2, 2)


@pytest.mark.redis
def test_get_or_set_on_redis(redis_cache):
    with capture_cache("redis") as log:
        redis_cache.get_or_set("perfkit-gos", "v")
        redis_cache.get_or_set("perfkit-gos", "w")
    assert [(o.op, o.hit) for o in log] == [("get_or_set", False), ("get_or_set", True)]
