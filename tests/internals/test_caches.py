"""The private parts of Django's and django-redis' cache backends that internals.caches reads."""

from __future__ import annotations

import pickle
import threading

import pytest
from django.core.cache import caches

from perfkit.internals import caches as internals


def test_locmem_state_and_delete_keep_their_shape(db):
    backend = caches["default"]
    backend.set("k", 5, 60)
    data, expiry, lock = internals.locmem_state(backend)
    made = backend.make_and_validate_key("k")
    assert pickle.loads(data[made]) == 5
    assert expiry[made] > 0
    assert isinstance(lock, type(threading.Lock()))
    with lock:
        internals.locmem_delete(backend, made)
    assert backend.get("k") is None


@pytest.mark.redis
def test_django_redis_options_and_json_serializer_detection(redis_cache, settings):
    assert isinstance(internals.django_redis_options(redis_cache.client), dict)
    assert internals.serializer_is_json(redis_cache) is False
    assert internals.serializer_is_json(caches["default"]) is False


@pytest.mark.parametrize("alias", ["default", "redis", "db", "builtin"])
def test_delete_if_equal_compares_and_deletes(alias, request):
    request.getfixturevalue("db")
    if alias == "redis":
        request.getfixturevalue("redis_cache")
    if alias == "db":
        request.getfixturevalue("db_cache")
    if alias == "builtin":  # Django's own RedisCache
        request.getfixturevalue("redis_cache")
        settings = request.getfixturevalue("settings")
        settings.CACHES = {
            **settings.CACHES,
            "builtin": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": settings.REDIS_URL,
                "KEY_PREFIX": settings.TEST_KEY_PREFIX,
            },
        }
    backend = caches[alias]
    backend.set("lock", 42, 60)
    assert internals.delete_if_equal(backend, "lock", 41) is False
    assert backend.get("lock") == 42
    assert internals.delete_if_equal(backend, "lock", 42) is True
    assert backend.get("lock") is None
    assert internals.delete_if_equal(backend, "lock", 42) is False
