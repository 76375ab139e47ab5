"""The Redis half of ``cache_url``: redis://, rediss://, unix://, redis+sentinel://,
redis+cluster:// and rediss+cluster://."""

from __future__ import annotations

from typing import Any
from urllib.parse import SplitResult, unquote

from perfkit.backends.urlspec import (
    BACKENDS,
    COMPRESSORS,
    DEFAULT_REDIS_OPTIONS,
    PARSERS,
    SERIALIZERS,
    CacheURLError,
    masked,
)

_FACTORY = "perfkit.backends.resilient.ConnectionFactory"
_SENTINEL_FACTORY = "perfkit.backends.resilient.SentinelConnectionFactory"


def _db_from_path(url: str, path: str) -> int | None:
    text = path.strip("/")
    if not text:
        return None
    if not text.isdigit():
        raise CacheURLError(
            f"cache_url({masked(url)!r}): the path {path!r} must be a Redis database number, "
            "e.g. redis://127.0.0.1:6379/0."
        )
    return int(text)


def _port(url: str, text: str, example: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise CacheURLError(
            f"cache_url({masked(url)!r}): the port {text!r} must be a number from 1 to 65535, "
            f"e.g. {example}."
        )
    return int(text)


def host_list(url: str, netloc: str, default_port: int, example: str) -> list[tuple[str, int]]:
    """``[(host, port)]`` of a comma-separated ``host:port,host:port`` netloc."""
    hosts = []
    for item in netloc.rpartition("@")[2].split(","):
        host, colon, port = item.strip().rpartition(":")
        if not colon:
            host, port = port, ""
        if not host:
            raise CacheURLError(
                f"cache_url({masked(url)!r}): bad address {item!r}; write {example}."
            )
        hosts.append((host, _port(url, port, example) if port else default_port))
    return hosts


def _check_port(url: str, parts: SplitResult) -> None:
    port = parts.netloc.rpartition("@")[2].rpartition("]")[2].rpartition(":")
    if port[1]:
        _port(url, port[2], "redis://127.0.0.1:6379/0")


def _ssl(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: settings[k] for k in ("ssl_ca_certs", "ssl_cert_reqs") if k in settings}


def _location(url: str, scheme: str, parts: SplitResult, opts: dict[str, Any]) -> str:
    if scheme == "unix":
        if not parts.path:
            raise CacheURLError(
                f"cache_url({masked(url)!r}): unix:// needs the socket path, "
                "e.g. unix:///run/redis/redis.sock?db=0."
            )
        return f"unix://{parts.netloc}{parts.path}?db={opts.get('db', 0)}"
    if scheme == "redis+sentinel":
        segments = [s for s in parts.path.split("/") if s]
        if not segments or len(segments) > 2:
            raise CacheURLError(
                f"cache_url({masked(url)!r}): redis+sentinel:// needs the service name as "
                "its path: redis+sentinel://host:26379/service_name/db."
            )
        path_db = _db_from_path(url, segments[1]) if len(segments) == 2 else None
        db = opts.get("db", path_db or 0)
        return f"redis://{unquote(segments[0])}/{db}"
    _check_port(url, parts)
    path_db = _db_from_path(url, parts.path)
    db = opts.get("db", path_db if path_db is not None else 0)
    return f"{scheme}://{parts.netloc}/{db}"


def redis_entry(url: str, scheme: str, parts: SplitResult, opts: dict[str, Any]) -> dict[str, Any]:
    """BACKEND, LOCATION and OPTIONS of a Redis cache (django-redis unless backend=django)."""
    settings = {**DEFAULT_REDIS_OPTIONS, **opts}
    if scheme in ("redis+cluster", "rediss+cluster"):
        return _cluster_entry(url, scheme, parts, settings)
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
            SENTINELS=host_list(
                url, parts.netloc, 26379, "redis+sentinel://host:26379,host2:26379/service/0"
            ),
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
    return {"BACKEND": BACKENDS["redis"], "LOCATION": location, "OPTIONS": options}


def _django_entry(
    url: str, scheme: str, location: str, settings: dict[str, Any]
) -> dict[str, Any]:
    for name, why in (
        ("compressor", "Django's RedisCache cannot compress"),
        ("serializer", "Django's RedisCache only pickles"),
    ):
        if name in settings and settings[name] != "pickle":
            raise CacheURLError(
                f"cache_url({masked(url)!r}): option {name!r} needs backend=django-redis "
                f"(the default): {why}."
            )
    if scheme == "redis+sentinel":
        raise CacheURLError(
            f"cache_url({masked(url)!r}): redis+sentinel:// needs backend=django-redis "
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
    return {"BACKEND": BACKENDS["django"], "LOCATION": location, "OPTIONS": options}


def _cluster_entry(
    url: str, scheme: str, parts: SplitResult, settings: dict[str, Any]
) -> dict[str, Any]:
    example = f"{scheme}://10.0.0.1:6379,10.0.0.2:6379/"
    for name in ("compressor", "serializer", "parser", "backend"):
        if name in settings:
            raise CacheURLError(
                f"cache_url({masked(url)!r}): option {name!r} does not apply to "
                f"{scheme}:// (redis-py's RedisCluster, values pickled like Django's "
                "RedisCache)."
            )
    if parts.path.strip("/") not in {"", "0"} or settings.get("db", 0) != 0:
        raise CacheURLError(
            f"cache_url({masked(url)!r}): a Redis Cluster has database 0 only; write {example}."
        )
    hosts = host_list(url, parts.netloc, 6379, example)
    options: dict[str, Any] = {
        "socket_connect_timeout": settings["socket_connect_timeout"],
        "socket_timeout": settings["socket_timeout"],
        "max_connections": settings["max_connections"],
    }
    if parts.username:
        options["username"] = unquote(parts.username)
    if parts.password:
        options["password"] = unquote(parts.password)
    for name in ("username", "password"):
        if name in settings:
            options[name] = settings[name]
    if "fail_open" in settings:
        options["FAIL_OPEN"] = settings["fail_open"]
    tls = _ssl(settings)
    if scheme == "rediss+cluster":
        options["ssl"] = True
        options.update(tls)
    elif tls:
        raise CacheURLError(
            f"cache_url({masked(url)!r}): {', '.join(sorted(tls))} apply to TLS connections: "
            f"write rediss+cluster:// for a cluster over TLS."
        )
    location = ",".join(f"{host}:{port}" for host, port in hosts)
    return {"BACKEND": BACKENDS["cluster"], "LOCATION": location, "OPTIONS": options}
