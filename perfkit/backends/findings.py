"""What is risky in ``CACHES``, read from the settings alone (no I/O): ids perfkit.W201-W207.

Shared by ``perfkit_doctor`` and the deploy system checks.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import shlex
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.utils.module_loading import import_string

__all__ = ["Finding", "backend_kind", "config_findings", "worker_processes"]

logger = logging.getLogger("perfkit.backends")


@dataclass(frozen=True)
class Finding:
    """One problem: ``level`` is "error" or "warning"; ``id`` is the system-check id."""

    id: str
    level: str
    alias: str | None
    message: str
    hint: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def caches_setting() -> dict[str, dict[str, Any]]:
    """``settings.CACHES``, typed."""
    caches: dict[str, dict[str, Any]] = getattr(settings, "CACHES", {})
    return caches


def backend_kind(backend: str) -> str:
    """ "django-redis", "django-redis-plain", "django-builtin", "django-builtin-fast",
    "redis-cluster", "tiered", "locmem", "db", "file", "dummy" or "other" for a BACKEND path."""
    try:
        cls = import_string(backend)
    except ImportError as exc:
        logger.debug("perfkit: cannot import cache BACKEND %r: %s", backend, exc)
        return "other"
    from django.core.cache.backends import db, dummy, filebased, locmem
    from django.core.cache.backends.redis import RedisCache

    from perfkit.backends.tiered import TieredCache

    if issubclass(cls, TieredCache):
        return "tiered"
    if cls.__module__ == "perfkit.backends._cluster":
        return "redis-cluster"
    if issubclass(cls, RedisCache):
        fast = backend == "perfkit.backends.resilient.DjangoRedisCache"
        return "django-builtin-fast" if fast else "django-builtin"
    if importlib.util.find_spec("django_redis"):
        from django_redis.cache import RedisCache as DjangoRedisCache

        if issubclass(cls, DjangoRedisCache):
            resilient = hasattr(cls, "_perfkit_call")
            return "django-redis" if resilient else "django-redis-plain"
    for base, name in (
        (locmem.LocMemCache, "locmem"),
        (db.DatabaseCache, "db"),
        (filebased.FileBasedCache, "file"),
        (dummy.DummyCache, "dummy"),
    ):
        if issubclass(cls, base):
            return name
    return "other"


def is_redis(kind: str) -> bool:
    return kind.startswith(("django-redis", "django-builtin"))


def _urls(location: Any) -> list[str]:
    items = location if isinstance(location, (list, tuple)) else re.split("[;,]", location or "")
    return [item.strip() for item in items if item.strip()]


def redis_server(url: str) -> tuple[str, str]:
    """(host:port or socket path, db) of a Redis URL."""
    parts = urlsplit(url)
    db = parse_qs(parts.query).get("db", [""])[0]
    if parts.scheme == "unix":
        return parts.path, db or "0"
    try:
        port = parts.port or 6379
    except ValueError:  # a bad port: say what the URL says rather than fail the doctor
        return parts.netloc.rpartition("@")[2], db or parts.path.strip("/") or "0"
    return f"{parts.hostname}:{port}", db or parts.path.strip("/") or "0"


def _redis_settings(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    options = config.get("OPTIONS") or {}
    urls = _urls(config.get("LOCATION"))
    in_url = any("@" in urlsplit(u).netloc for u in urls)
    if kind.startswith("django-redis"):
        password = options.get("PASSWORD") or options.get("USERNAME") or in_url
        serializer = str(options.get("SERIALIZER", "pickle"))
        timeouts = options.get("SOCKET_TIMEOUT"), options.get("SOCKET_CONNECT_TIMEOUT")
    else:
        password = options.get("password") or options.get("username") or in_url
        serializer = str(options.get("serializer") or "pickle")
        timeouts = options.get("socket_timeout"), options.get("socket_connect_timeout")
    return {
        "urls": urls,
        "password": bool(password),
        "pickle": "pickle" in serializer.lower(),
        "timeouts": timeouts,
    }


def worker_processes() -> tuple[int, str]:
    """How many web worker processes the environment announces, and where it said so.

    Read from WEB_CONCURRENCY (gunicorn, Heroku, uvicorn), GUNICORN_CMD_ARGS (-w/--workers)
    and UWSGI_PROCESSES / UWSGI_WORKERS.  1 when none is set.
    """
    for name in ("WEB_CONCURRENCY", "UWSGI_PROCESSES", "UWSGI_WORKERS"):
        value = os.environ.get(name, "").strip()
        if value.isdigit():
            return int(value), f"{name}={value}"
    args = shlex.split(os.environ.get("GUNICORN_CMD_ARGS", ""))
    for index, arg in enumerate(args):
        value = arg.partition("=")[2] if "=" in arg else (args[index + 1 : index + 2] or [""])[0]
        if arg.split("=")[0] in {"-w", "--workers"} and value.isdigit():
            return int(value), f"GUNICORN_CMD_ARGS {arg}"
    return 1, ""


def celery_urls() -> dict[str, str]:
    """The Celery broker and result backend URLs from the settings, when Celery is used."""
    broker = getattr(settings, "CELERY_BROKER_URL", "") or getattr(settings, "BROKER_URL", "")
    if not broker or getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        return {}
    urls = {"broker": str(broker)}
    backend = getattr(settings, "CELERY_RESULT_BACKEND", "")
    if backend:
        urls["result backend"] = str(backend)
    return urls


def _doubled_prefix(alias: str, config: dict[str, Any]) -> list[Finding]:
    """W207: the cache's KEY_PREFIX repeats PERFKIT["KEY_PREFIX"] (keys like ``pk:1:pk:g:...``)."""
    from perfkit.conf import perfkit_settings

    cache_prefix = str(config.get("KEY_PREFIX") or "")
    ours = str(perfkit_settings.KEY_PREFIX)
    if not cache_prefix or cache_prefix != ours:
        return []
    return [
        Finding(
            "perfkit.W207",
            "warning",
            alias,
            f"Cache {alias!r} has KEY_PREFIX {cache_prefix!r}, the same as "
            f"PERFKIT['KEY_PREFIX']: perfkit's keys carry it twice ({ours}:1:{ours}:g:...).",
            "Set the site's namespace once, as the cache's KEY_PREFIX (it separates sites "
            "sharing a server, and clear()); leave PERFKIT['KEY_PREFIX'] at its default 'pk', "
            "which only marks perfkit's keys inside the cache.",
        )
    ]


def config_findings() -> list[Finding]:
    """W201-W207 for every alias of ``CACHES``."""
    found: list[Finding] = []
    servers: dict[tuple[str, str], list[str]] = {}
    for name, url in celery_urls().items():
        if url.startswith(("redis://", "rediss://", "unix://")):
            servers.setdefault(redis_server(url), []).append(f"the Celery {name}")
    redis_aliases = []
    workers, source = worker_processes()
    for alias, config in caches_setting().items():
        kind = backend_kind(str(config.get("BACKEND", "")))
        if kind == "locmem" and (workers > 1 or celery_urls()):
            who = f"{workers} web worker processes ({source})" if workers > 1 else ""
            who += (" and " if who else "") + "Celery workers" if celery_urls() else ""
            found.append(
                Finding(
                    "perfkit.W201",
                    "warning",
                    alias,
                    f"Cache {alias!r} is a LocMemCache, private to each process, but this site "
                    f"runs {who}: each process keeps its own copy, and perfkit's invalidation and "
                    "warming reach only one of them.",
                    "Use a shared cache: CACHES = caches_from_env(...) with REDIS_URL set, or "
                    "cache_url('db://perfkit_cache').",
                )
            )
        found.extend(_doubled_prefix(alias, config))
        if not is_redis(kind):
            continue
        info = _redis_settings(kind, config)
        redis_aliases.append((alias, config, info))
        for url in info["urls"]:
            servers.setdefault(redis_server(url), []).append(f"cache {alias!r}")
        if info["pickle"] and not info["password"]:
            found.append(
                Finding(
                    "perfkit.W203",
                    "warning",
                    alias,
                    f"Cache {alias!r} unpickles what it reads from Redis, and its settings give "
                    "no password or ACL user for that Redis: if the server does not require one, "
                    "anyone who can reach it can write a pickle that runs code in this site.",
                    "Require a password or an ACL user (redis://user:pass@host/0), or store "
                    "JSON: cache_url('redis://...?serializer=json').",
                )
            )
        if None in info["timeouts"]:
            found.append(
                Finding(
                    "perfkit.W204",
                    "warning",
                    alias,
                    f"Cache {alias!r} sets no socket timeout or connect timeout: a Redis that "
                    "hangs makes every request hang with it.",
                    "Build it with perfkit.backends.cache_url() (0.25 s connect, 0.5 s socket), "
                    "or set SOCKET_TIMEOUT and SOCKET_CONNECT_TIMEOUT in its OPTIONS.",
                )
            )
        if kind == "django-builtin":
            found.append(
                Finding(
                    "perfkit.W205",
                    "warning",
                    alias,
                    f"Cache {alias!r} uses Django's built-in RedisCache, which builds a new "
                    "redis.Redis client on every call: a get costs about 3x a django-redis get.",
                    "Use cache_url('redis://...') (django-redis, the default), or "
                    "cache_url('redis://...?backend=django') for perfkit's subclass that reuses "
                    "its client.",
                )
            )
        if kind in {"django-redis-plain", "django-builtin"}:
            found.append(
                Finding(
                    "perfkit.W206",
                    "warning",
                    alias,
                    f"Cache {alias!r} has no circuit breaker: while Redis is down every request "
                    "waits for the socket timeout, on every cache call.",
                    "Use BACKEND 'perfkit.backends.resilient.RedisCache' (what cache_url() "
                    "gives), which skips a failed Redis for PERFKIT['BREAKER_COOLDOWN'] seconds.",
                )
            )
    for alias, config, info in redis_aliases:
        shared = sorted(
            {
                who
                for url in info["urls"]
                for who in servers.get(redis_server(url), [])
                if who != f"cache {alias!r}"
            }
        )
        if shared and not config.get("KEY_PREFIX"):
            found.append(
                Finding(
                    "perfkit.W202",
                    "warning",
                    alias,
                    f"Cache {alias!r} has no KEY_PREFIX on a Redis database it shares with "
                    f"{', '.join(shared)}: keys can collide and clear() empties theirs too.",
                    "Give it a KEY_PREFIX (cache_url('redis://...?key_prefix=myapp')), or a "
                    "database number of its own.",
                )
            )
    return found
