"""perfkit.internals.redis: each private thing perfkit.backends relies on still has its shape."""

from __future__ import annotations

import pytest
from django.utils.module_loading import import_string

from perfkit.internals import redis as internals

pytest.importorskip("django_redis")


def test_redis_py_parser_classes_by_perfkit_path():
    import redis.connection

    for option, path in (("hiredis", "HiredisParser"), ("python", "PythonParser")):
        parser = import_string(f"perfkit.internals.redis.{path}")
        assert parser is internals.redis_parser_class(option)
        assert isinstance(parser, type)
        assert issubclass(parser, redis.connection.BaseParser)


def test_django_redis_connection_factory_pools_is_a_class_dict():
    from django_redis.pool import ConnectionFactory

    factory = ConnectionFactory({})
    assert isinstance(internals.connection_factory_pools(factory), dict)
    assert internals.connection_factory_pools(factory) is ConnectionFactory._pools


def test_django_redis_cache_client_builds_one_client_per_pool():
    from django.core.cache.backends.redis import RedisCacheClient

    client = RedisCacheClient(["redis://127.0.0.1:6379/11"])
    internals.reuse_builtin_clients(client)
    assert client.get_client(write=True) is client.get_client(write=True)


def test_django_redis_cache_client_property():
    from django.core.cache.backends.redis import RedisCache, RedisCacheClient

    cache = RedisCache("redis://127.0.0.1:6379/11", {})
    client = internals.builtin_cache_client(cache)
    assert isinstance(client, RedisCacheClient)
    assert client is internals.builtin_cache_client(cache)


def test_database_cache_table():
    from django.core.cache.backends.db import DatabaseCache

    assert internals.database_cache_table(DatabaseCache("perfkit_t", {})) == "perfkit_t"


def test_install_and_uninstall_patch_nothing():
    internals.install()
    internals.uninstall()
