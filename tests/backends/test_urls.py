"""cache_url / caches_from_env: every scheme works through django.core.cache.caches."""

from __future__ import annotations

import importlib.util
import uuid

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import override_settings

from perfkit.backends import cache_url, caches_from_env
from perfkit.exceptions import PerfkitError
from tests.backends.servers import RedisServer, Sentinel

PREFIX = settings.TEST_KEY_PREFIX
REDIS = "redis://127.0.0.1:6379/11"


def round_trip(entry: dict) -> tuple[object, object]:
    """set, get, delete, get through a cache built from ``entry``."""
    with override_settings(CACHES={**settings.CACHES, "under_test": entry}):
        cache = caches["under_test"]
        key = f"rt-{uuid.uuid4().hex}"
        cache.set(key, {"books": [1, 2, 3], "title": "Dune"}, 30)
        value = cache.get(key)
        cache.delete(key)
        gone = cache.get(key, "gone")
        cache.close()
    return value, gone


EXPECTED = {"books": [1, 2, 3], "title": "Dune"}


def test_redis_url_gives_django_redis_with_fail_fast_defaults():
    assert cache_url(f"{REDIS}?key_prefix=shop&timeout=60&version=2") == {
        "BACKEND": "perfkit.backends.resilient.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/11",
        "KEY_PREFIX": "shop",
        "TIMEOUT": 60,
        "VERSION": 2,
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": 0.25,
            "SOCKET_TIMEOUT": 0.5,
            "CONNECTION_FACTORY": "perfkit.backends.resilient.ConnectionFactory",
            "CONNECTION_POOL_KWARGS": {"max_connections": 100},
        },
    }


@pytest.mark.redis
@pytest.mark.parametrize(
    "query",
    [
        "",
        "&serializer=json",
        "&compressor=zlib",
        "&compressor=lzma&serializer=pickle",
        "&parser=python",
        "&parser=hiredis&max_connections=5&socket_timeout=2&socket_connect_timeout=1",
        "&backend=django",
        "&backend=django&parser=python",
    ],
)
def test_redis_round_trip(query):
    assert round_trip(cache_url(f"{REDIS}?key_prefix={PREFIX}{query}")) == (EXPECTED, "gone")


@pytest.mark.redis
def test_db_from_query_overrides_the_path():
    entry = cache_url(f"redis://127.0.0.1:6379/3?db=11&key_prefix={PREFIX}")
    assert entry["LOCATION"] == "redis://127.0.0.1:6379/11"
    assert round_trip(entry) == (EXPECTED, "gone")


@pytest.mark.redis
def test_keyword_options_override_the_query():
    entry = cache_url(f"{REDIS}?key_prefix=nope&timeout=5", key_prefix=PREFIX, timeout=None)
    assert (entry["KEY_PREFIX"], entry["TIMEOUT"]) == (PREFIX, None)
    assert round_trip(entry) == (EXPECTED, "gone")


def test_unix_socket_round_trip():
    server = RedisServer(unixsocket=True)
    try:
        entry = cache_url(f"unix://{server.unixsocket}?db=2")
        assert entry["LOCATION"] == f"unix://{server.unixsocket}?db=2"
        assert round_trip(entry) == (EXPECTED, "gone")
        assert round_trip(cache_url(f"unix://{server.unixsocket}?backend=django")) == (
            EXPECTED,
            "gone",
        )
    finally:
        server.stop()


def test_rediss_round_trip_over_tls():
    server = RedisServer(tls=True)
    try:
        url = f"rediss://127.0.0.1:{server.port}/0?ssl_ca_certs={server.cert}"
        entry = cache_url(url)
        assert entry["OPTIONS"]["CONNECTION_POOL_KWARGS"] == {
            "max_connections": 100,
            "ssl_ca_certs": server.cert,
        }
        assert round_trip(entry) == (EXPECTED, "gone")
        assert round_trip(cache_url(url + "&backend=django")) == (EXPECTED, "gone")
    finally:
        server.stop()


def test_sentinel_round_trip():
    master = RedisServer()
    sentinel = Sentinel(master, service="perfkit")
    try:
        entry = cache_url(f"redis+sentinel://127.0.0.1:{sentinel.port}/perfkit/1")
        assert entry["LOCATION"] == "redis://perfkit/1"
        assert entry["OPTIONS"]["SENTINELS"] == [("127.0.0.1", sentinel.port)]
        assert entry["OPTIONS"]["CLIENT_CLASS"] == "django_redis.client.SentinelClient"
        assert round_trip(entry) == (EXPECTED, "gone")
    finally:
        sentinel.stop()
        master.stop()


def test_sentinel_url_parts():
    entry = cache_url("redis+sentinel://:s3cret@10.0.0.1:26379,10.0.0.2/main?db=4")
    assert entry["LOCATION"] == "redis://main/4"
    assert entry["OPTIONS"]["SENTINELS"] == [("10.0.0.1", 26379), ("10.0.0.2", 26379)]
    assert entry["OPTIONS"]["PASSWORD"] == "s3cret"
    assert entry["OPTIONS"]["SENTINEL_KWARGS"] == {
        "socket_connect_timeout": 0.25,
        "socket_timeout": 0.5,
    }


@pytest.mark.django_db
def test_db_round_trip():
    entry = cache_url("db://perfkit_url_test_cache?max_entries=50&cull_frequency=2")
    assert entry == {
        "BACKEND": "perfkit.backends.resilient.DatabaseCache",
        "LOCATION": "perfkit_url_test_cache",
        "OPTIONS": {"MAX_ENTRIES": 50, "CULL_FREQUENCY": 2},
    }
    with override_settings(CACHES={**settings.CACHES, "under_test": entry}):
        call_command("createcachetable", "perfkit_url_test_cache", verbosity=0)
    assert round_trip(entry) == (EXPECTED, "gone")


def test_locmem_file_and_dummy_round_trips(tmp_path):
    assert round_trip(cache_url("locmem://perfkit-url-test")) == (EXPECTED, "gone")
    entry = cache_url(f"file://{tmp_path}/cache?timeout=30")
    assert entry["LOCATION"] == f"{tmp_path}/cache"
    assert round_trip(entry) == (EXPECTED, "gone")
    assert list((tmp_path / "cache").iterdir()) == []  # deleted again
    # the dummy cache stores nothing, by design
    assert round_trip(cache_url("dummy://")) == (None, "gone")


def test_caches_from_env(monkeypatch):
    monkeypatch.delenv("CACHE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert caches_from_env("locmem://demo", env=("CACHE_URL", "REDIS_URL")) == {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "demo",
        }
    }
    monkeypatch.setenv("REDIS_URL", "redis://10.1.1.1:6380/2")
    caches = caches_from_env(
        "locmem://demo",
        env=("CACHE_URL", "REDIS_URL"),
        options={"key_prefix": "demo"},
        sessions="db://sessions_cache",
    )
    assert caches["default"]["LOCATION"] == "redis://10.1.1.1:6380/2"
    assert caches["default"]["KEY_PREFIX"] == "demo"
    assert caches["sessions"] == {
        "BACKEND": "perfkit.backends.resilient.DatabaseCache",
        "LOCATION": "sessions_cache",
        "KEY_PREFIX": "demo",
    }
    monkeypatch.setenv("CACHE_URL", "dummy://")
    assert caches_from_env(env=("CACHE_URL", "REDIS_URL"))["default"]["BACKEND"].endswith(
        "DummyCache"
    )


REDIS_OPTIONS = (
    "backend, compressor, db, fail_open, key_prefix, max_connections, parser, password, "
    "serializer, socket_connect_timeout, socket_timeout, ssl_ca_certs, ssl_cert_reqs, timeout, "
    "username, version"
)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "memcached://127.0.0.1:11211",
            "cache_url('memcached://127.0.0.1:11211'): unknown scheme 'memcached'. Valid "
            "schemes: db://, dummy://, file://, locmem://, redis://, redis+cluster://, "
            "redis+sentinel://, rediss://, rediss+cluster://, unix:// (e.g. "
            "redis://127.0.0.1:6379/0).",
        ),
        (
            "127.0.0.1:6379",
            "cache_url('127.0.0.1:6379'): the URL has no scheme. Valid schemes: db://, "
            "dummy://, file://, locmem://, redis://, redis+cluster://, redis+sentinel://, "
            "rediss://, rediss+cluster://, unix:// (e.g. redis://127.0.0.1:6379/0).",
        ),
        (
            "redis://:hunter2@h/0?sockettimeout=1",
            "cache_url('redis://:***@h/0?sockettimeout=1'): 'sockettimeout' is an unknown "
            f"option. Valid options for redis:// are: {REDIS_OPTIONS}.",
        ),
        (
            "redis://h/0?max_entries=5",
            "cache_url('redis://h/0?max_entries=5'): 'max_entries' is an option that does not "
            f"apply to it. Valid options for redis:// are: {REDIS_OPTIONS}.",
        ),
        (
            "locmem://x?socket_timeout=1",
            "cache_url('locmem://x?socket_timeout=1'): 'socket_timeout' is an option that does "
            "not apply to it. Valid options for locmem:// are: cull_frequency, key_prefix, "
            "max_entries, timeout, version.",
        ),
        (
            "redis://h/0?timeout=soon",
            "cache_url('redis://h/0?timeout=soon'): option 'timeout' is 'soon'; it must be "
            "seconds (>= 0) or 'none'.",
        ),
        (
            "redis://h/0?socket_timeout=0",
            "cache_url('redis://h/0?socket_timeout=0'): option 'socket_timeout' is '0'; it "
            "must be seconds > 0.",
        ),
        (
            "redis://h/0?compressor=brotli",
            "cache_url('redis://h/0?compressor=brotli'): option 'compressor' is 'brotli'; it "
            "must be one of zlib, lzma, lz4, zstd.",
        ),
        (
            "redis://h/0?serializer=yaml",
            "cache_url('redis://h/0?serializer=yaml'): option 'serializer' is 'yaml'; it must "
            "be one of pickle, json, msgpack.",
        ),
        (
            "redis://h/0?fail_open=maybe",
            "cache_url('redis://h/0?fail_open=maybe'): option 'fail_open' is 'maybe'; it must "
            "be true or false.",
        ),
        (
            "db://x?version=1.5",
            "cache_url('db://x?version=1.5'): option 'version' is '1.5'; it must be a whole "
            "number >= 0.",
        ),
        (
            "redis://h/cache",
            "cache_url('redis://h/cache'): the path '/cache' must be a Redis database number, "
            "e.g. redis://127.0.0.1:6379/0.",
        ),
        (
            "unix://",
            "cache_url('unix://'): unix:// needs the socket path, e.g. "
            "unix:///run/redis/redis.sock?db=0.",
        ),
        (
            "redis+sentinel://h:26379",
            "cache_url('redis+sentinel://h:26379'): redis+sentinel:// needs the service name "
            "as its path: redis+sentinel://host:26379/service_name/db.",
        ),
        (
            "redis+sentinel://h:x/svc",
            "cache_url('redis+sentinel://h:x/svc'): the port 'x' must be a number from 1 to "
            "65535, e.g. redis+sentinel://host:26379,host2:26379/service/0.",
        ),
        (
            "redis://127.0.0.1:port/5",
            "cache_url('redis://127.0.0.1:port/5'): the port 'port' must be a number from 1 to "
            "65535, e.g. redis://127.0.0.1:6379/0.",
        ),
        (
            "redis://:secret@127.0.0.1:70000/0",
            "cache_url('redis://:***@127.0.0.1:70000/0'): the port '70000' must be a number "
            "from 1 to 65535, e.g. redis://127.0.0.1:6379/0.",
        ),
        (
            "rediss://127.0.0.1:6379/-1",
            "cache_url('rediss://127.0.0.1:6379/-1'): the path '/-1' must be a Redis database "
            "number, e.g. redis://127.0.0.1:6379/0.",
        ),
        (
            "redis://h/0?backend=django&compressor=zlib",
            "cache_url('redis://h/0?backend=django&compressor=zlib'): option 'compressor' "
            "needs backend=django-redis (the default): Django's RedisCache cannot compress.",
        ),
        (
            "redis://h/0?backend=django&serializer=json",
            "cache_url('redis://h/0?backend=django&serializer=json'): option 'serializer' "
            "needs backend=django-redis (the default): Django's RedisCache only pickles.",
        ),
        (
            "redis+sentinel://h/svc?backend=django",
            "cache_url('redis+sentinel://h/svc?backend=django'): redis+sentinel:// needs "
            "backend=django-redis (the default): Django's RedisCache has no Sentinel support.",
        ),
        (
            "db://",
            "cache_url('db://'): db:// needs a table name, e.g. db://perfkit_cache (then run "
            "`python manage.py createcachetable`).",
        ),
        (
            "file://relative/dir",
            "cache_url('file://relative/dir'): file:// needs an absolute directory after three "
            "slashes, e.g. file:///var/tmp/django_cache.",
        ),
    ],
)
def test_bad_urls_name_the_problem_and_the_valid_choices(url, message):
    with pytest.raises(ValueError) as info:
        cache_url(url)
    assert str(info.value) == message
    # Django's own exception for a bad setting, and perfkit's
    assert isinstance(info.value, ImproperlyConfigured)
    assert isinstance(info.value, PerfkitError)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://user:p@ss@h:6379/0", "redis://user:***@h:6379/0"),
        ("redis://:p@ss:w@rd@h/0", "redis://:***@h/0"),
        ("redis://:plain@h/0", "redis://:***@h/0"),
        ("redis://nobody@h/0", "redis://nobody@h/0"),
    ],
)
def test_masking_hides_the_whole_password_up_to_the_last_at(url, shown):
    with pytest.raises(ValueError) as info:
        cache_url(url + "?nope=1")
    assert shown in str(info.value)
    assert "ss@" not in str(info.value).replace(shown, "")


@pytest.mark.parametrize(
    ("environ_url", "ours"),
    [
        ("rediscache://127.0.0.1:6379/1?key_prefix=a", "redis://127.0.0.1:6379/1?key_prefix=a"),
        ("dbcache://perfkit_cache", "db://perfkit_cache"),
        ("locmemcache://unique", "locmem://unique"),
        ("filecache:///var/tmp/django_cache", "file:///var/tmp/django_cache"),
        ("dummycache://", "dummy://"),
    ],
)
def test_django_environ_scheme_names_mean_the_same(environ_url, ours):
    assert cache_url(environ_url) == cache_url(ours)


def test_bad_password_value_is_not_echoed():
    with pytest.raises(ValueError) as info:
        cache_url("redis://h/0", password=1234)
    assert str(info.value) == (
        "cache_url('redis://h/0'): option 'password' is ***; it must be a string."
    )


@pytest.mark.parametrize(
    ("query", "package"), [("compressor=lz4", "lz4"), ("compressor=zstd", "pyzstd")]
)
def test_option_needing_a_missing_package(query, package):
    if importlib.util.find_spec(package):
        pytest.skip(f"{package} is installed here")
    with pytest.raises(ValueError) as info:
        cache_url(f"redis://h/0?{query}")
    name, value = query.split("=")
    assert str(info.value) == (
        f"cache_url('redis://h/0?{query}'): {name}={value} needs the {package!r} package, "
        f"which is not installed. Install it with: pip install {package}"
    )


def test_url_must_be_a_string():
    with pytest.raises(TypeError) as info:
        cache_url(None)  # type: ignore[arg-type]
    assert str(info.value) == "cache_url() takes a URL string, not NoneType (None)."


@pytest.mark.redis
@pytest.mark.parametrize("backend", ["django-redis", "django"])
def test_redis_connections_get_the_safe_defaults(backend):
    entry = cache_url(f"{REDIS}?key_prefix={PREFIX}&backend={backend}")
    with override_settings(CACHES={**settings.CACHES, "under_test": entry}):
        cache = caches["under_test"]
        cache.get("warm-up")
        client = (
            cache.client.get_client() if backend == "django-redis" else cache._cache.get_client()
        )
        pool = client.connection_pool
        connection = pool.get_connection()
        try:
            assert type(connection._parser).__name__ == "_HiredisParser"
            assert connection.retry.get_retries() == 0  # the breaker decides when to retry
            assert (connection.socket_connect_timeout, connection.socket_timeout) == (0.25, 0.5)
            assert pool.max_connections == 100
        finally:
            pool.release(connection)


@pytest.mark.redis
def test_aliases_on_one_url_with_different_options_get_their_own_pools():
    fast = cache_url(f"{REDIS}?key_prefix={PREFIX}&socket_timeout=0.1")
    slow = cache_url(f"{REDIS}?key_prefix={PREFIX}&socket_timeout=2")
    with override_settings(CACHES={**settings.CACHES, "fast": fast, "slow": slow}):
        pools = [caches[a].client.get_client().connection_pool for a in ("fast", "slow")]
    assert pools[0] is not pools[1]
    assert [p.connection_kwargs["socket_timeout"] for p in pools] == [0.1, 2]
