"""What ``cache_url`` accepts: schemes, options and their parsers, backend paths, URL masking.

Shared by ``perfkit.backends.urls`` (every scheme) and ``perfkit.backends._redis_url`` (the
Redis schemes); imports nothing else of perfkit.backends, so imports flow one way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from perfkit.exceptions import ImproperlyConfiguredError

__all__ = [
    "BACKENDS",
    "COMPRESSORS",
    "DEFAULT_REDIS_OPTIONS",
    "OPTIONS",
    "PARSERS",
    "SCHEMES",
    "SERIALIZERS",
    "CacheURLError",
    "masked",
]


class CacheURLError(ImproperlyConfiguredError, ImproperlyConfigured):
    """``cache_url()`` cannot use the URL or an option: Django's ImproperlyConfigured, and still
    the ValueError that ``cache_url`` always raised."""


# fail fast: a Redis that does not answer costs a request at most this long, once (the
# circuit breaker then skips it for PERFKIT["BREAKER_COOLDOWN"] seconds)
DEFAULT_REDIS_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": 0.25,
    "socket_timeout": 0.5,
    "max_connections": 100,
}

BACKENDS = {
    "redis": "perfkit.backends.resilient.RedisCache",
    "django": "perfkit.backends.resilient.DjangoRedisCache",
    "cluster": "perfkit.backends.resilient.RedisClusterCache",
    "db": "perfkit.backends.resilient.DatabaseCache",
    "locmem": "django.core.cache.backends.locmem.LocMemCache",
    "file": "django.core.cache.backends.filebased.FileBasedCache",
    "dummy": "django.core.cache.backends.dummy.DummyCache",
}
# scheme -> kind of cache
SCHEMES = {
    "redis": "redis",
    "rediss": "redis",
    "unix": "redis",
    "redis+sentinel": "redis",
    "redis+cluster": "redis",
    "rediss+cluster": "redis",
    "db": "db",
    "locmem": "locmem",
    "file": "file",
    "dummy": "dummy",
    # the names django-environ's cache_url uses
    "rediscache": "redis",
    "dbcache": "db",
    "locmemcache": "locmem",
    "filecache": "file",
    "dummycache": "dummy",
}
# django-environ scheme -> ours
SCHEME_ALIASES = {
    "rediscache": "redis",
    "dbcache": "db",
    "locmemcache": "locmem",
    "filecache": "file",
    "dummycache": "dummy",
}
SERIALIZERS = {
    "pickle": "django_redis.serializers.pickle.PickleSerializer",
    "json": "django_redis.serializers.json.JSONSerializer",
    "msgpack": "django_redis.serializers.msgpack.MSGPackSerializer",
}
COMPRESSORS = {
    "zlib": "django_redis.compressors.zlib.ZlibCompressor",
    "lzma": "django_redis.compressors.lzma.LzmaCompressor",
    "lz4": "django_redis.compressors.lz4.Lz4Compressor",
    "zstd": "django_redis.compressors.zstd.ZStdCompressor",
}
# resolved lazily by perfkit.internals.redis (redis-py's parser classes are private)
PARSERS = {
    "hiredis": "perfkit.internals.redis.HiredisParser",
    "python": "perfkit.internals.redis.PythonParser",
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _seconds_or_none(value: Any) -> Any:
    if value is None or (isinstance(value, str) and value.lower() in {"none", "never"}):
        return None
    number = float(value)
    if number < 0:
        raise ValueError
    return int(number) if number == int(number) else number


def _seconds(value: Any) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError
    return number


def _count(value: Any) -> int:
    if isinstance(value, bool) or int(value) != float(value) or int(value) < 0:
        raise ValueError
    return int(value)


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text not in _TRUE | _FALSE:
        raise ValueError
    return text in _TRUE


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError
    return value


def _choice(choices: Sequence[str]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if value not in choices:
            raise ValueError
        return str(value)

    return parse


_ALL = frozenset(SCHEMES.values())
_REDIS = frozenset({"redis"})
# option -> (parser, what it must be, the kinds of cache it applies to)
OPTIONS: dict[str, tuple[Callable[[Any], Any], str, frozenset[str]]] = {
    "timeout": (_seconds_or_none, "seconds (>= 0) or 'none'", _ALL),
    "key_prefix": (_text, "a string", _ALL),
    "version": (_count, "a whole number >= 0", _ALL),
    "max_entries": (_count, "a whole number >= 0", frozenset({"db", "locmem", "file"})),
    "cull_frequency": (_count, "a whole number >= 0", frozenset({"db", "locmem", "file"})),
    "fail_open": (_flag, "true or false", frozenset({"redis", "db"})),
    "db": (_count, "a whole number >= 0", _REDIS),
    "username": (_text, "a string", _REDIS),
    "password": (_text, "a string", _REDIS),
    "socket_timeout": (_seconds, "seconds > 0", _REDIS),
    "socket_connect_timeout": (_seconds, "seconds > 0", _REDIS),
    "max_connections": (_count, "a whole number >= 0", _REDIS),
    "compressor": (_choice(list(COMPRESSORS)), "one of " + ", ".join(COMPRESSORS), _REDIS),
    "serializer": (_choice(list(SERIALIZERS)), "one of " + ", ".join(SERIALIZERS), _REDIS),
    "parser": (_choice(list(PARSERS)), "one of " + ", ".join(PARSERS), _REDIS),
    "backend": (_choice(["django-redis", "django"]), "django-redis or django", _REDIS),
    "ssl_ca_certs": (_text, "a path to a CA bundle", _REDIS),
    "ssl_cert_reqs": (
        _choice(["required", "optional", "none"]),
        "required, optional or none",
        _REDIS,
    ),
}
# options whose implementation is a separate package
NEEDS = {
    ("compressor", "lz4"): "lz4",
    ("compressor", "zstd"): "pyzstd",
    ("serializer", "msgpack"): "msgpack",
}

# user:password@ up to the LAST @ of the netloc (a password may contain @)
_USERINFO = re.compile(r"(//[^:/?#@]*):[^/?#]*@")


def masked(url: Any) -> str:
    """``url`` (or a LOCATION of several URLs) with every password replaced by ``***``."""
    return _USERINFO.sub(r"\1:***@", str(url))
