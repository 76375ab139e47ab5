"""``isolated_cache()``: every cache alias gets a private, empty key namespace for a block.

A record of cache hits and misses is only reproducible if the cache starts in a known state:
a record written on a warm developer Redis fails on a fresh CI Redis (``+2 misses``), and one
test's leftovers turn the next test's misses into hits.  Inside the block ``CACHES`` is
overridden (``override_settings``, so every thread and every new cache object sees it), and
the cache objects this thread already holds (a module's ``caches["x"]``) are switched to the
namespace in place and stay the objects in use, so what they do is isolated and captured too:

- ``LocMemCache`` gets a LOCATION of its own (a new, empty store), dropped on exit;
- ``FileBasedCache`` gets a temporary directory, removed on exit;
- every other backend (Redis, the database cache, memcached, perfkit's) gets
  ``KEY_PREFIX`` + ``:perfkit-isolated-<random>``; on exit the keys under that namespace are
  deleted on Redis (django-redis and Django's ``RedisCache``) and the database cache, and on
  other backends left to expire with their timeout.

Blocks nest: an inner ``isolated_cache()`` inside an outer one keeps the outer namespace.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast

from django.conf import settings
from django.core.cache import caches
from django.test.utils import override_settings
from django.utils.module_loading import import_string

from perfkit.internals import cachestate
from perfkit.internals import redis as redis_internals

__all__ = ["isolated_cache", "isolation_active"]

logger = logging.getLogger("perfkit.testing")

_active: ContextVar[str | None] = ContextVar("perfkit_isolated_cache", default=None)


def isolation_active() -> bool:
    """True inside an ``isolated_cache()`` block (of this context)."""
    return _active.get() is not None


def _backend_class(config: dict[str, Any]) -> type | None:
    try:
        found = import_string(config.get("BACKEND", ""))
    except ImportError:
        return None
    return found if isinstance(found, type) else None


def _isolate(config: dict[str, Any], namespace: str) -> tuple[dict[str, Any], str]:
    """The isolated copy of one alias's config, and how to clean it up (``kind``)."""
    from django.core.cache.backends.filebased import FileBasedCache
    from django.core.cache.backends.locmem import LocMemCache

    config = dict(config)
    backend = _backend_class(config)
    if backend is not None and issubclass(backend, LocMemCache):
        config["LOCATION"] = f"{config.get('LOCATION', '')}:{namespace}"
        return config, "locmem"
    if backend is not None and issubclass(backend, FileBasedCache):
        config["LOCATION"] = tempfile.mkdtemp(prefix=f"{namespace}-")
        return config, "file"
    prefix = config.get("KEY_PREFIX", "")
    config["KEY_PREFIX"] = f"{prefix}:{namespace}" if prefix else namespace
    return config, "prefix"


@contextmanager
def isolated_cache(aliases: str | Sequence[str] | None = None) -> Iterator[str]:
    """Run the block with a private, empty namespace on ``aliases`` (None = every alias).

    Yields the namespace (``perfkit-isolated-<hex>``).  Keys the block writes are removed on
    exit where the backend allows it (see the module docstring).
    """
    outer = _active.get()
    if outer is not None:  # already isolated: keep one namespace for the whole test
        yield outer
        return
    given = aliases
    if isinstance(aliases, str):
        aliases = [aliases]
    unknown = [a for a in aliases or () if a not in settings.CACHES]
    if unknown:
        from perfkit.exceptions import ImproperlyConfiguredError

        raise ImproperlyConfiguredError(
            f"isolated_cache(aliases={given!r}): no cache named {unknown[0]!r} in "
            f"settings.CACHES; choose among {sorted(settings.CACHES)} or pass None for all."
        )
    namespace = f"perfkit-isolated-{uuid.uuid4().hex[:12]}"
    isolated: dict[str, Any] = {}
    kinds: dict[str, tuple[str, dict[str, Any]]] = {}
    configured: dict[str, dict[str, Any]] = cast(dict[str, dict[str, Any]], settings.CACHES)
    for alias, config in configured.items():
        if aliases is None or alias in aliases:
            isolated[alias], kind = _isolate(config, namespace)
            kinds[alias] = (kind, isolated[alias])
        else:
            isolated[alias] = config
    # cache objects this thread already holds (a module's ``caches["x"]``) stay the objects
    # in use: they are switched to the namespace in place, and put back into the handler
    held = {alias: caches[alias] for alias in kinds if cachestate.holds(caches, alias)}
    token = _active.set(namespace)
    restores: list[tuple[Any, dict[str, Any]]] = []
    try:
        with override_settings(CACHES=isolated):
            try:
                for alias, cache in held.items():
                    restores.append((cache, cachestate.switch(cache, *kinds[alias])))
                    caches[alias] = cache
                yield namespace
            finally:
                # keys live only in backends the block used (this thread's cache objects)
                used = {a for a in kinds if cachestate.holds(caches, a)}
                for alias, (kind, config) in kinds.items():
                    if kind != "prefix" or alias in used:
                        _clean(alias, kind, config, namespace)
                for cache, attributes in restores:
                    cachestate.restore(cache, attributes)
    finally:
        _active.reset(token)
        for alias, cache in held.items():
            caches[alias] = cache


def _clean(alias: str, kind: str, config: dict[str, Any], namespace: str) -> None:
    try:
        if kind == "locmem":
            cachestate.drop_locmem(config["LOCATION"])
        elif kind == "file":
            shutil.rmtree(config["LOCATION"])
        else:
            _delete_namespace(caches[alias], namespace)
    except Exception as exc:
        # the namespace is random and unused after this block: a leftover costs memory only
        logger.warning(
            "perfkit: could not remove what the block stored in cache %r under its private "
            "namespace (%s: %s); it is never read again and expires with its timeout.",
            alias,
            type(exc).__name__,
            exc,
        )


def _delete_namespace(cache: Any, namespace: str) -> None:
    from django.core.cache.backends.db import DatabaseCache

    if isinstance(cache, DatabaseCache):
        _delete_database_rows(cache, namespace)
        return
    client = cachestate.redis_client_if_connected(cache)
    if client is None:  # not Redis, or never connected in the block: nothing was written
        return
    keys = list(client.scan_iter(match=f"*{namespace}*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])


def _delete_database_rows(cache: Any, namespace: str) -> None:
    from django.db import DatabaseError, connections, router, transaction

    db = router.db_for_write(cache.cache_model_class)
    connection = connections[db]
    table = connection.ops.quote_name(redis_internals.database_cache_table(cache))
    # a savepoint: on PostgreSQL a failing statement (no cache table) would abort the
    # caller's transaction
    try:
        with transaction.atomic(using=db), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE cache_key LIKE %s", [f"%{namespace}%"])
    except (DatabaseError, RuntimeError) as exc:
        # no cache table, or a test without database access (pytest-django raises
        # RuntimeError): either way the block stored nothing there
        logger.debug("perfkit: isolated rows of %s not deleted: %s", table, exc)
