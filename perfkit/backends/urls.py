"""``CACHES`` entries from one URL: ``cache_url("redis://127.0.0.1:6379/0?key_prefix=shop")``.

Redis URLs get safe defaults: connect/socket timeouts well under a second, a bounded connection
pool, the hiredis parser when it is installed (redis-py picks it), no client-side retries, and
perfkit's fail-open backend with a circuit breaker (``perfkit.backends.resilient``).
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["DEFAULT_REDIS_OPTIONS", "SCHEMES", "cache_url", "caches_from_env"]

# fail fast: a Redis that does not answer costs a request at most this long, once (the
# circuit breaker then skips it for PERFKIT["BREAKER_COOLDOWN"] seconds)
DEFAULT_REDIS_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": 0.25,
    "socket_timeout": 0.5,
    "max_connections": 100,
}

_BACKENDS = {
    "redis": "perfkit.backends.resilient.RedisCache",
    "django": "perfkit.backends.resilient.DjangoRedisCache",
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
    "db": "db",
    "locmem": "locmem",
    "file": "file",
    "dummy": "dummy",
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
PARSERS = {"hiredis": "redis.connection._HiredisParser", "python": "redis.connection._RESP2Parser"}
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
_NEEDS = {
    ("compressor", "lz4"): "lz4",
    ("compressor", "zstd"): "pyzstd",
    ("serializer", "msgpack"): "msgpack",
}


def _masked(url: str) -> str:
    """The URL with its password replaced, for error messages."""
    return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url)


def _parse_options(url: str, scheme: str, given: Mapping[str, Any]) -> dict[str, Any]:
    kind = SCHEMES[scheme]
    valid = sorted(name for name, spec in OPTIONS.items() if kind in spec[2])
    parsed: dict[str, Any] = {}
    for name, raw in given.items():
        spec = OPTIONS.get(name)
        if spec is None or kind not in spec[2]:
            what = "unknown option" if spec is None else "option that does not apply to it"
            raise ValueError(
                f"cache_url({_masked(url)!r}): {name!r} is an {what}. "
                f"Valid options for {scheme}:// are: {', '.join(valid)}."
            )
        parser, expected, _kinds = spec
        try:
            parsed[name] = parser(raw)
        except (TypeError, ValueError) as exc:
            shown = "***" if name == "password" else repr(raw)
            raise ValueError(
                f"cache_url({_masked(url)!r}): option {name!r} is {shown}; it must be {expected}."
            ) from exc
        package = _NEEDS.get((name, parsed[name]))
        if package and importlib.util.find_spec(package) is None:
            raise ValueError(
                f"cache_url({_masked(url)!r}): {name}={parsed[name]} needs the {package!r} "
                f"package, which is not installed. Install it with: pip install {package}"
            )
    return parsed


def _common(options: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    for name in ("timeout", "key_prefix", "version"):
        if name in options:
            entry[name.upper()] = options.pop(name)
    extra = {k.upper(): options.pop(k) for k in ("max_entries", "cull_frequency") if k in options}
    if extra:
        entry["OPTIONS"] = extra
    return entry


def cache_url(url: str, **options: Any) -> dict[str, Any]:
    """One ``CACHES`` entry from ``url``; keyword options override the URL's query parameters.

    Schemes: ``redis://``, ``rediss://``, ``unix://``, ``redis+sentinel://``, ``db://table``,
    ``locmem://name``, ``file:///path``, ``dummy://``.  See docs/backends.md for every option.
    """
    if not isinstance(url, str):
        raise TypeError(f"cache_url() takes a URL string, not {type(url).__name__} ({url!r}).")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or "://" not in url:
        problem = f"unknown scheme {scheme!r}" if "://" in url else "the URL has no scheme"
        raise ValueError(
            f"cache_url({_masked(url)!r}): {problem}. "
            f"Valid schemes: {', '.join(f'{s}://' for s in sorted(SCHEMES))} "
            "(e.g. redis://127.0.0.1:6379/0)."
        )
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    opts = _parse_options(url, scheme, {**query, **options})
    kind = SCHEMES[scheme]
    entry = _common(opts)
    location = unquote(parts.netloc + parts.path)
    if kind == "redis":
        from perfkit.backends._redis_url import redis_entry

        entry.update(redis_entry(url, scheme, parts, opts))
    elif kind == "db":
        if not location or "/" in location:
            raise ValueError(
                f"cache_url({url!r}): db:// needs a table name, e.g. db://perfkit_cache "
                "(then run `python manage.py createcachetable`)."
            )
        entry.update(BACKEND=_BACKENDS["db"], LOCATION=location)
        if "fail_open" in opts:
            entry.setdefault("OPTIONS", {})["FAIL_OPEN"] = opts["fail_open"]
    elif kind == "file":
        if not parts.path or parts.netloc:
            raise ValueError(
                f"cache_url({url!r}): file:// needs an absolute directory after three slashes, "
                "e.g. file:///var/tmp/django_cache."
            )
        entry.update(BACKEND=_BACKENDS["file"], LOCATION=unquote(parts.path))
    else:
        entry.update(BACKEND=_BACKENDS[kind], LOCATION=location)
    return entry


def caches_from_env(
    default: str = "locmem://",
    *,
    env: str | Sequence[str] = "CACHE_URL",
    options: Mapping[str, Any] | None = None,
    **aliases: str,
) -> dict[str, dict[str, Any]]:
    """A whole ``CACHES`` dict: "default" from the first set variable of ``env``, else ``default``.

    Every other keyword is an alias and its URL: ``caches_from_env(sessions="redis://...")``.
    ``options`` are passed to ``cache_url`` for every alias.
    """
    names = [env] if isinstance(env, str) else list(env)
    url = next((os.environ[n] for n in names if os.environ.get(n)), default)
    extra = dict(options or {})
    caches = {"default": cache_url(url, **extra)}
    for alias, alias_url in aliases.items():
        caches[alias] = cache_url(alias_url, **extra)
    return caches
