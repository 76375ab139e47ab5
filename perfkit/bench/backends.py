"""The cache backends perfkit_bench compares: locmem, the database cache and Redis.

Each is one ``CACHES`` entry that the runner swaps in with ``override_settings``, plus how to
empty it without touching anything else (never ``FLUSHDB``: keys are deleted by prefix) and
the version facts that go into the JSON report.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
from dataclasses import dataclass
from typing import Any, cast

import django
from django.core.cache import caches
from django.db import connection

from perfkit.exceptions import ImproperlyConfiguredError

__all__ = ["BACKEND_NAMES", "BenchBackend", "default_backend_names", "machine_facts", "make"]

logger = logging.getLogger("perfkit.bench")
BACKEND_NAMES = ("locmem", "db", "redis")
DB_CACHE_TABLE = "perfkit_bench_cache"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


@dataclass
class BenchBackend:
    """One cache backend under test: its ``CACHES`` entry and how to empty it."""

    name: str
    config: dict[str, Any]

    def unavailable(self) -> str | None:
        """Why this backend cannot be benchmarked here, or None when it can."""
        if self.name != "redis":
            return None
        try:
            import django_redis  # noqa: F401
            import redis
        except ImportError:
            return 'django-redis is not installed (pip install "django-perfkit[redis]")'
        client = redis.Redis.from_url(
            self.config["LOCATION"], socket_connect_timeout=0.5, socket_timeout=0.5
        )
        try:
            client.ping()
        except Exception as exc:
            return f"{_safe_url(self.config['LOCATION'])} is not reachable ({exc})"
        finally:
            client.close()
        return None

    def prepare(self) -> None:
        """Create what the backend needs (the database cache's table)."""
        if self.name == "db":
            from django.core.management import call_command

            call_command("createcachetable", DB_CACHE_TABLE, verbosity=0)

    def clear(self, alias: str = "default") -> None:
        """Empty the backend's entries, and only them."""
        cache = caches[alias]
        if self.name == "redis":
            cast(Any, cache).delete_pattern("*")  # django-redis; scoped to this run's KEY_PREFIX
        else:
            cache.clear()  # a LOCATION / table of our own

    def facts(self) -> dict[str, Any]:
        """Versions of what this backend runs on, for the JSON report."""
        facts: dict[str, Any] = {"backend": self.config["BACKEND"]}
        if self.name == "db":
            facts["database"] = _database_facts()
        elif self.name == "redis":
            import django_redis
            import redis

            client = redis.Redis.from_url(self.config["LOCATION"], socket_timeout=0.5)
            try:
                facts["server"] = client.info("server").get("redis_version")
            except Exception:  # the report shows "unknown"; the reason goes to the log
                logger.debug("perfkit_bench: no Redis server version", exc_info=True)
                facts["server"] = None
            finally:
                client.close()
            facts["redis_py"] = redis.__version__
            facts["django_redis"] = ".".join(map(str, django_redis.VERSION))
            facts["hiredis"] = _version_of("hiredis")
        return facts


def make(name: str, *, redis_url: str | None = None) -> BenchBackend:
    """The backend called ``name`` (one of BACKEND_NAMES)."""
    if name == "locmem":
        config = {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"perfkit-bench-{os.getpid()}",
        }
    elif name == "db":
        config = {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": DB_CACHE_TABLE,
        }
    elif name == "redis":
        from perfkit.backends import cache_url

        url = redis_url or default_redis_url()
        if not url.startswith(_REDIS_SCHEMES):
            raise ImproperlyConfiguredError(
                f"--redis-url {_safe_url(url)!r} is not a Redis URL. Use redis://host:port/db "
                f"(or rediss:// or unix://)."
            )
        # configured the way perfkit recommends: fail-fast timeouts and a circuit breaker
        config = cache_url(url, key_prefix=f"perfkit-bench-{os.getpid()}")
    else:
        raise ImproperlyConfiguredError(
            f"--backends: unknown backend {name!r}. Use a comma-separated list of "
            f"{', '.join(BACKEND_NAMES)}."
        )
    return BenchBackend(name, config)


def _redis_url_from_env() -> str | None:
    for var in ("REDIS_URL", "CACHE_URL"):
        value = os.environ.get(var, "")
        if value.startswith(_REDIS_SCHEMES):
            return value
    return None


def default_redis_url() -> str:
    """REDIS_URL, or CACHE_URL when it is a redis:// URL, or redis://127.0.0.1:6379/0."""
    return _redis_url_from_env() or DEFAULT_REDIS_URL


def default_backend_names() -> list[str]:
    """locmem and db always; redis when REDIS_URL (or a redis:// CACHE_URL) is set."""
    names = ["locmem", "db"]
    if _redis_url_from_env():
        names.append("redis")
    return names


def machine_facts() -> dict[str, Any]:
    """Python, Django, perfkit, the database and the machine, for the JSON report."""
    from perfkit import __version__ as perfkit_version

    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "django": django.get_version(),
        "perfkit": perfkit_version,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "database": _database_facts(),
        "executable": sys.executable,
    }


def _database_facts() -> dict[str, Any]:
    vendor = connection.vendor
    version: Any = None
    try:
        if vendor == "sqlite":
            import sqlite3

            version = sqlite3.sqlite_version
        else:
            connection.ensure_connection()
            info = connection.get_database_version()
            version = ".".join(map(str, info))
    except Exception:  # the report shows "unknown"; the reason goes to the log
        logger.debug("perfkit_bench: no %s server version", vendor, exc_info=True)
        version = None
    return {"vendor": vendor, "version": version}


def _version_of(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _safe_url(url: str) -> str:
    # never print a password from a redis URL
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url
