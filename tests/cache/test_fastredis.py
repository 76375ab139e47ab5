"""The Redis hit path's per-thread connections."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import caches

from perfkit.cache import cached

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def test_thread_churn_does_not_exhaust_the_backends_pool(redis_cache, signal_log):
    @cached(timeout=60, cache="redis")
    def square(x):
        return x * x

    assert square(7) == 49  # stored
    pool = caches["redis"].client.get_client(write=False).connection_pool
    created_before = pool._created_connections
    results: list[int] = []

    def hit() -> None:
        results.append(square(7))

    # more short-lived threads than redis-py's default max_connections (100)
    for _ in range(pool.max_connections + 20):
        thread = threading.Thread(target=hit)
        thread.start()
        thread.join()

    assert results == [49] * (pool.max_connections + 20)
    assert [name for name, _ in signal_log if name == "cache_error"] == []
    assert [name for name, _ in signal_log].count("cache_hit") == pool.max_connections + 20
    # the hit path's connections are not taken from (and never owed to) the pool
    assert pool._created_connections == created_before


@pytest.fixture
def frozen_alias(settings):
    """A django-redis alias on a private redis-server the test can freeze (SIGSTOP)."""
    from tests.backends.servers import RedisServer

    server = RedisServer()  # started
    settings.CACHES = {
        **settings.CACHES,
        "frozen": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{server.port}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        },
    }
    yield server
    server.stop()


def test_a_frozen_redis_costs_one_socket_timeout_per_call(frozen_alias, monkeypatch, signal_log):
    """The hit path does not retry a read that timed out (it would wait a second timeout)."""
    import redis.connection

    from perfkit.cache import fastredis

    timeouts = []

    def counting(original):
        def call(*args, **kwargs):
            try:
                return original(*args, **kwargs)
            except (TimeoutError, redis.exceptions.TimeoutError):
                timeouts.append(original.__name__)
                raise

        return call

    @cached(timeout=60, cache="frozen")
    def square(x):
        return x * x

    assert square(7) == 49  # stored; this thread's connection is open
    frozen_alias.pause()
    try:
        # the hit path's own round trip, and redis-py's (what a retry through the client uses)
        monkeypatch.setattr(fastredis, "roundtrip", counting(fastredis.roundtrip))
        monkeypatch.setattr(
            redis.connection.Connection,
            "read_response",
            counting(redis.connection.Connection.read_response),
        )
        assert square(7) == 49  # computed without the cache
    finally:
        frozen_alias.resume()
    assert timeouts == ["roundtrip"]
    assert [kw["operation"] for name, kw in signal_log if name == "cache_error"] == ["get"]


def test_the_hit_path_reads_large_values_and_error_replies(redis_cache, signal_log):
    """A reply larger than one socket read is reassembled; an error reply is a failure."""
    from django.core.cache import caches

    big = "x" * 300_000

    @cached(timeout=60, cache="redis")
    def blob(n):
        return big * n

    assert blob(1) == big
    assert blob(1) == big  # a hit: the envelope came back in several reads
    assert [name for name, _ in signal_log].count("cache_hit") == 1
    # MGET answers nil for a key holding a list (not an error): a miss
    client = caches["redis"].client.get_client()
    client.delete(caches["redis"].client.make_key(blob.key_for(1)))
    client.rpush(caches["redis"].client.make_key(blob.key_for(1)), b"not an envelope")
    assert blob(1) == big  # MGET returns nil for a list: a miss, recomputed and stored
    assert blob(1) == big


def test_a_server_that_closes_the_connection_is_reconnected(redis_cache, signal_log):
    from django.core.cache import caches

    @cached(timeout=60, cache="redis")
    def square(x):
        return x * x

    from perfkit.cache.store import get_store

    assert square(3) == 9  # a miss: this thread's hit-path connection is open
    host, port = get_store("redis").fast._local.wire.sock.getsockname()[:2]
    caches["redis"].client.get_client().client_kill_filter(addr=f"{host}:{port}")
    assert square(3) == 9  # the closed connection is dropped and the read retried
    assert [name for name, _ in signal_log if name == "cache_error"] == []
    assert [name for name, _ in signal_log].count("cache_hit") == 1


def test_without_hiredis_the_hit_path_uses_redis_pys_own_reader(
    redis_cache, monkeypatch, signal_log
):
    from perfkit.cache import fastredis
    from perfkit.cache.store import get_store

    monkeypatch.setattr(fastredis, "hiredis", None)

    @cached(timeout=60, cache="redis")
    def square(x):
        return x * x

    results: list[int] = []

    def calls() -> None:  # a new thread: a new connection, made without hiredis
        results.extend([square(5), square(5), square(6)])
        results.append(get_store("redis").fast._local.wire.sock is None)

    thread = threading.Thread(target=calls)
    thread.start()
    thread.join()
    assert results == [25, 25, 36, True]
    assert [name for name, _ in signal_log if name == "cache_error"] == []
    assert [name for name, _ in signal_log].count("cache_hit") == 1
