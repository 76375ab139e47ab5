"""The Redis half of ``cache_url``: redis://, rediss://, unix://, redis+sentinel://."""

from __future__ import annotations

from typing import Any
from urllib.parse import SplitResult, unquote

from perfkit.backends.urls import (
    _BACKENDS,
    COMPRESSORS,
    DEFAULT_REDIS_OPTIONS,
    PARSERS,
    SERIALIZERS,
    _masked,
)

_FACTORY = "perfkit.backends.resilient.ConnectionFactory"
_SENTINEL_FACTORY = "perfkit.backends.resilient.SentinelConnectionFactory"


def _db_from_path(url: str, path: str) -> int | None:
    text = path.strip("/")
    if not text:
        return None
    if not text.isdigit():
        raise ValueError(
            f"cache_url({_masked(url)!r}): the path {path!r} must be a Redis database number, "
            "e.g. redis://127.0.0.1:6379/0."
        )
    return int(text)


def _sentinel_hosts(url: str, netloc: str) -> list[tuple[str, int]]:
    hosts = []
    for item in netloc.rpartition("@")[2].split(","):
        host, _, port = item.strip().rpartition(":")
        if not host:
            host, port = port, ""
        if not host or (port and not port.isdigit()):
            raise ValueError(
                f"cache_url({_masked(url)!r}): bad sentinel address {item!r}; write "
                "redis+sentinel://host:26379,host2:26379/service_name/db."
            )
        hosts.append((host, int(port or 26379)))
    return hosts


def _ssl(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: settings[k] for k in ("ssl_ca_certs", "ssl_cert_reqs") if k in settings}


def _location(url: str, scheme: str, parts: SplitResult, opts: dict[str, Any]) -> str:
    if scheme == "unix":
        if not parts.path:
            raise ValueError(
                f"cache_url({_masked(url)!r}): unix:// needs the socket path, "
                "e.g. unix:///run/redis/redis.sock?db=0."
            )
        return f"unix://{parts.netloc}{parts.path}?db={opts.get('db', 0)}"
    if scheme == "redis+sentinel":
        segments = [s for s in parts.path.split("/") if s]
        if not segments or len(segments) > 2:
            raise ValueError(
                f"cache_url({_masked(url)!r}): redis+sentinel:// needs the service name as "
                "its path: redis+sentinel://host:26379/service_name/db."
            )
        path_db = _db_from_path(url, segments[1]) if len(segments) == 2 else None
        db = opts.get("db", path_db or 0)
        return f"redis://{unquote(segments[0])}/{db}"
    path_db = _db_from_path(url, parts.path)
    db = opts.get("db", path_db if path_db is not None else 0)
    return f"{scheme}://{parts.netloc}/{db}"


def redis_entry(url: str, scheme: str, parts: SplitResult, opts: dict[str, Any]) -> dict[str, Any]:
    """BACKEND, LOCATION and OPTIONS of a Redis cache (django-redis unless backend=django)."""
    settings = {**DEFAULT_REDIS_OPTIONS, **opts}
    location = _location(url, scheme, parts, opts)
    if settings.get("backend") == "django":
        return _django_entry(url, scheme, location, settings)
    options: dict[str, Any] = {
        "SOCKET_CONNECT_TIMEOUT": settings["socket_connect_timeout"],
        "SOCKET_TIMEOUT": settings["socket_timeout"],
        "CONNECTION_FACTORY": _FACTORY,
        "CONNECTION_POOL_KWARGS": {"max_connections": settings["max_connections"]},
    }
    if scheme == "redis+sentinel":
        password = unquote(parts.password) if parts.password else None
        if password and "password" not in settings:
            settings["password"] = password
        options.update(
            CLIENT_CLASS="django_redis.client.SentinelClient",
            CONNECTION_FACTORY=_SENTINEL_FACTORY,
            SENTINELS=_sentinel_hosts(url, parts.netloc),
            SENTINEL_KWARGS={
                "socket_connect_timeout": settings["socket_connect_timeout"],
                "socket_timeout": settings["socket_timeout"],
            },
        )
    for name in ("username", "password"):
        if name in settings:
            options[name.upper()] = settings[name]
    if "serializer" in settings:
        options["SERIALIZER"] = SERIALIZERS[settings["serializer"]]
    if "compressor" in settings:
        options["COMPRESSOR"] = COMPRESSORS[settings["compressor"]]
    if "parser" in settings:
        options["PARSER_CLASS"] = PARSERS[settings["parser"]]
    if "fail_open" in settings:
        options["FAIL_OPEN"] = settings["fail_open"]
    options["CONNECTION_POOL_KWARGS"].update(_ssl(settings))
    return {"BACKEND": _BACKENDS["redis"], "LOCATION": location, "OPTIONS": options}


def _django_entry(
    url: str, scheme: str, location: str, settings: dict[str, Any]
) -> dict[str, Any]:
    for name, why in (
        ("compressor", "Django's RedisCache cannot compress"),
        ("serializer", "Django's RedisCache only pickles"),
    ):
        if name in settings and settings[name] != "pickle":
            raise ValueError(
                f"cache_url({_masked(url)!r}): option {name!r} needs backend=django-redis "
                f"(the default): {why}."
            )
    if scheme == "redis+sentinel":
        raise ValueError(
            f"cache_url({_masked(url)!r}): redis+sentinel:// needs backend=django-redis "
            "(the default): Django's RedisCache has no Sentinel support."
        )
    options: dict[str, Any] = {
        "socket_connect_timeout": settings["socket_connect_timeout"],
        "socket_timeout": settings["socket_timeout"],
        "max_connections": settings["max_connections"],
    }
    for name in ("username", "password"):
        if name in settings:
            options[name] = settings[name]
    if "parser" in settings:
        options["parser_class"] = PARSERS[settings["parser"]]
    if "fail_open" in settings:
        options["FAIL_OPEN"] = settings["fail_open"]
    options.update(_ssl(settings))
    return {"BACKEND": _BACKENDS["django"], "LOCATION": location, "OPTIONS": options}
