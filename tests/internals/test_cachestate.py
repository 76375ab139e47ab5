"""The Django cache internals perfkit.internals.cachestate switches (isolated_cache)."""

from __future__ import annotations

from django.core.cache import caches
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.locmem import LocMemCache

from perfkit.internals import cachestate


def test_the_handler_knows_which_aliases_this_thread_holds():
    caches["default"]
    assert cachestate.holds(caches, "default")
    assert not cachestate.holds(caches, "no-such-alias")


def test_a_locmem_object_switches_stores_and_back():
    cache = LocMemCache("perfkit-cachestate-a", {})
    cache.set("k", "a")
    before = cachestate.switch(cache, "locmem", {"LOCATION": "perfkit-cachestate-b"})
    assert cache.get("k") is None
    cache.set("k", "b")
    cachestate.restore(cache, before)
    assert cache.get("k") == "a"
    assert LocMemCache("perfkit-cachestate-b", {}).get("k") == "b"
    cachestate.drop_locmem("perfkit-cachestate-b")
    assert LocMemCache("perfkit-cachestate-b", {}).get("k") is None
    cachestate.drop_locmem("perfkit-cachestate-a")


def test_a_file_cache_switches_directories_and_back(tmp_path):
    cache = FileBasedCache(str(tmp_path / "a"), {})
    cache.set("k", "a")
    before = cachestate.switch(cache, "file", {"LOCATION": str(tmp_path / "b")})
    assert cache.get("k") is None
    cachestate.restore(cache, before)
    assert cache.get("k") == "a"


def test_a_redis_cache_that_never_connected_has_no_client():
    from django_redis.cache import RedisCache

    cache = RedisCache("redis://127.0.0.1:1/0", {})
    assert cachestate.redis_client_if_connected(cache) is None
