"""TieredCache: local hits, write-through, and never a stale value after a generation bump."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings

from demo_project.bookstore.models import Author
from perfkit.backends import TieredCache
from perfkit.cache import cached, registry
from perfkit.conf import perfkit_settings
from perfkit.exceptions import CacheUnavailable

LOCAL_TIMEOUT = 0.3
TIERED = {
    "BACKEND": "perfkit.backends.TieredCache",
    "LOCATION": "redis",
    "OPTIONS": {"LOCAL_TIMEOUT": LOCAL_TIMEOUT, "LOCAL_MAX_ENTRIES": 50},
}


@pytest.fixture
def tiered(redis_cache):
    with override_settings(CACHES={**settings.CACHES, "tiered": TIERED}):
        cache = caches["tiered"]
        cache.layer.data.clear()
        yield cache
        cache.layer.data.clear()


def behind_its_back(key, value):
    """Another process writes to the shared cache."""
    caches["redis"].set(key, value, 60)


def test_reads_are_served_locally_for_local_timeout(tiered, fake_clock, monkeypatch):
    monkeypatch.setattr(tiered.layer, "clock", fake_clock)
    key = f"book-{uuid.uuid4().hex}"
    assert tiered.get(key, "absent") == "absent"
    tiered.set(key, {"title": "Dune"}, 60)
    behind_its_back(key, {"title": "Emma"})
    assert tiered.get(key) == {"title": "Dune"}  # this process's copy
    assert tiered.get_many([key]) == {key: {"title": "Dune"}}
    fake_clock.advance(LOCAL_TIMEOUT + 0.05)
    assert tiered.get(key) == {"title": "Emma"}  # expired locally: read from Redis


def test_local_copies_cannot_be_mutated_by_callers(tiered):
    tiered.set("list", [1, 2], 60)
    tiered.get("list").append(3)
    assert tiered.get("list") == [1, 2]


def test_generation_and_lock_keys_are_never_kept_locally(tiered):
    prefix = perfkit_settings.KEY_PREFIX
    for key in (f"{prefix}:g:bookstore.book", f"{prefix}:f:mod.func", f"{prefix}:c:entry:lock"):
        tiered.set(key, "old", 60)
        behind_its_back(key, "new")
        assert tiered.get(key) == "new"
        assert tiered.get_many([key, "other"]) == {key: "new"}
        tiered.delete(key)


def test_writes_go_through_to_the_shared_cache(tiered):
    remote = caches["redis"]
    tiered.set_many({"a": 1, "b": 2}, 60)
    assert remote.get_many(["a", "b"]) == {"a": 1, "b": 2}
    assert tiered.add("a", 9) is False
    assert tiered.add("c", 3, 60) is True
    assert remote.get("c") == 3
    assert tiered.incr("a") == 2
    assert tiered.get("a") == 2
    tiered.delete("b")
    assert remote.get("b", "gone") == "gone"
    assert tiered.get("b", "gone") == "gone"
    tiered.delete_many(["a", "c"])
    assert tiered.get_many(["a", "c"]) == {}
    assert tiered.has_key("c") is False
    tiered.set("short", 1, timeout=0)  # Django: timeout 0 = do not keep
    assert tiered.get("short") is None


def test_local_layer_is_bounded(tiered):
    for n in range(120):
        tiered.set(f"k{n}", n, 60)
    assert len(tiered.layer.data) <= 50
    assert tiered.get("k119") == 119


@pytest.mark.django_db
def test_cached_function_sees_another_process_invalidation_at_once(tiered):
    calls = []

    @cached(cache="tiered", depends_on=[Author])
    def author_count_label() -> str:
        calls.append(1)
        return f"call {len(calls)}"

    try:
        assert author_count_label() == "call 1"
        assert author_count_label() == "call 1"  # a hit (its entry is now in the local layer)
        # another process writes an Author: it bumps the generation in the shared cache only
        prefix = perfkit_settings.KEY_PREFIX
        behind_its_back(f"{prefix}:g:bookstore.author", uuid.uuid4().hex)
        assert author_count_label() == "call 2"  # not the local copy: stale by its generations
    finally:
        # a function of this test only: its alias "tiered" is gone after it (check E102)
        registry.pop(author_count_label.perfkit_name, None)


def test_strict_view_raises_and_breaker_is_the_remote_one(redis_server):
    from perfkit.backends import cache_url

    remote = cache_url(f"redis://127.0.0.1:{redis_server.port}/0")
    with override_settings(
        CACHES={**settings.CACHES, "remote": remote, "t": {**TIERED, "LOCATION": "remote"}}
    ):
        cache = caches["t"]
        assert isinstance(cache, TieredCache)
        assert cache.perfkit_breaker is caches["remote"].perfkit_breaker
        cache.perfkit_breaker.reset()
        cache.set("x", 1, 60)
        redis_server.kill()
        assert cache.get("x") == 1  # the local copy still answers
        assert cache.get("y", "fallback") == "fallback"  # fail-open remote
        with pytest.raises(CacheUnavailable):
            cache.perfkit_strict.get_many(["y"])
        cache.perfkit_breaker.reset()


@pytest.mark.parametrize(
    ("location", "problem"),
    [("nope", "is not an alias of CACHES"), ("t", "is itself a TieredCache")],
)
def test_location_must_name_a_shared_cache(location, problem):
    caches_setting = {"default": settings.CACHES["default"], "t": {**TIERED, "LOCATION": location}}
    with override_settings(CACHES=caches_setting), pytest.raises(ValueError) as info:
        caches["t"].get("x")
    assert str(info.value) == (
        f"TieredCache's LOCATION {location!r} {problem}. Set LOCATION to the alias of the "
        "shared cache behind it (one of: 'default', 't')."
    )
