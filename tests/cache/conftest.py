"""Fixtures of the cache tests: every backend kind, a clean registry, captured signals."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

from perfkit.cache import generations, registry
from perfkit.conf import perfkit_settings


@pytest.fixture(autouse=True)
def _isolated_registry():
    """Wrappers defined by a test leave the registry (and so the bumped aliases) after it."""
    # demo_project/celery.py reads perfkit_settings while the settings module is still loading,
    # which caches an empty PERFKIT dict: read the real one again
    perfkit_settings.reload()
    before = set(registry)
    yield
    for name in set(registry) - before:
        if name.startswith("tests."):
            del registry[name]
    generations.pending.clear()


@pytest.fixture
def builtin_redis_cache(redis_cache):
    """Django's own RedisCache on the same Redis, under this process's key prefix."""
    caches_setting = {
        **settings.CACHES,
        "builtin": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.REDIS_URL,
            "KEY_PREFIX": settings.TEST_KEY_PREFIX + "-b",
        },
    }
    with override_settings(CACHES=caches_setting):
        from django.core.cache import caches

        yield caches["builtin"]
        client = caches["builtin"]._cache.get_client()
        keys = list(client.scan_iter(match=f"{settings.TEST_KEY_PREFIX}-b:*", count=1000))
        if keys:
            client.delete(*keys)


@pytest.fixture(params=["locmem", "db", "redis", "builtin_redis"])
def alias(request):
    """Each cache backend kind, as the alias a test passes to ``cache=``."""
    if request.param == "locmem":
        request.getfixturevalue("db")
        return "default"
    if request.param == "db":
        request.getfixturevalue("db_cache")
        return "db"
    if request.param == "redis":
        request.getfixturevalue("db")
        request.getfixturevalue("redis_cache")
        return "redis"
    request.getfixturevalue("db")
    request.getfixturevalue("builtin_redis_cache")
    return "builtin"


class SignalLog(list):
    """(signal name, kwargs) of every perfkit cache signal sent during a test."""

    def names(self) -> list[str]:
        return [name for name, _ in self]


@pytest.fixture
def signal_log():
    from perfkit import signals

    log = SignalLog()
    receivers = {}
    for name in ("cache_hit", "cache_miss", "cache_stale", "cache_invalidated", "cache_error"):

        def receiver(sender, _name=name, **kwargs):
            kwargs.pop("signal", None)
            log.append((_name, {"sender": sender, **kwargs}))

        receivers[name] = receiver
        getattr(signals, name).connect(receiver, weak=False)
    yield log
    for name, receiver in receivers.items():
        getattr(signals, name).disconnect(receiver)
