"""Private parts of Django's cache backends and django-redis that perfkit.cache reads.

No patches: accessor functions only (``install``/``uninstall`` are no-ops).  Each accessor
names the private attribute it relies on; tests/internals/test_caches.py checks their shape.

- ``locmem_state``/``locmem_delete``: LocMemCache ``_cache``, ``_expire_info``, ``_lock``,
  ``_delete`` (the hit path's one-lock read, fastlocmem.py).
- ``django_redis_options``: django-redis ``client._options`` (SERIALIZER, COMPRESSOR).
- ``serializer_is_json``: django-redis' SERIALIZER option, Django RedisCache's ``_serializer``.
- ``delete_if_equal``: an atomic compare-and-delete of a lock (token) per backend.
"""

from __future__ import annotations

import base64
import pickle
import sys
import threading
from collections import OrderedDict
from typing import Any

from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import connections, router, transaction

__all__ = [
    "delete_if_equal",
    "django_redis_options",
    "install",
    "locmem_delete",
    "locmem_state",
    "serializer_is_json",
    "uninstall",
]


def install() -> None:
    """Nothing to patch: this submodule only offers accessors."""


def uninstall() -> None:
    """Nothing to restore."""


def locmem_state(backend: LocMemCache) -> tuple[OrderedDict[str, bytes], dict[str, Any], Any]:
    """(pickled values by made key, expiry by made key, the lock guarding both)."""
    return backend._cache, backend._expire_info, backend._lock  # type: ignore[attr-defined]


def locmem_delete(backend: LocMemCache, made_key: str) -> None:
    """Delete a made key; the caller holds the backend's lock (``locmem_state()[2]``)."""
    backend._delete(made_key)  # type: ignore[attr-defined]


def django_redis_options(client: Any) -> dict[str, Any]:
    """The OPTIONS a django-redis client was configured with."""
    return dict(client._options)


def serializer_is_json(backend: Any) -> bool:
    """True when ``backend`` stores values through a JSON serializer."""
    if "django_redis" in sys.modules:
        from django_redis.cache import RedisCache as DjangoRedisCache

        if isinstance(backend, DjangoRedisCache):
            path = str(django_redis_options(backend.client).get("SERIALIZER", ""))
            return "json" in path.lower()
    if "django.core.cache.backends.redis" in sys.modules:
        from django.core.cache.backends.redis import RedisCache

        if isinstance(backend, RedisCache):
            serializer = backend._cache._serializer  # type: ignore[attr-defined]  # RedisCacheClient
            return "json" in type(serializer).__name__.lower()
    return False


# KEYS[1]: the lock; ARGV[1]: our token.  Deletes only if the lock still holds our token.
_COMPARE_AND_DELETE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)
_scripts: dict[int, Any] = {}
_scripts_lock = threading.Lock()


def _script(client: Any) -> Any:
    script = _scripts.get(id(client))
    if script is None:
        with _scripts_lock:
            script = _scripts[id(client)] = client.register_script(_COMPARE_AND_DELETE)
    return script


def delete_if_equal(backend: Any, key: str, token: int) -> bool:
    """Delete ``key`` only if it still holds ``token`` (an int); True if it was deleted.

    Atomic on Redis (a Lua script), LocMemCache (under its lock) and the database cache (one
    ``DELETE ... WHERE value = <token>``).  Other backends get a get-then-delete: a lock that
    expires and is retaken between the two calls can still be deleted, so keep their
    ``LOCK_TIMEOUT`` well above the computation time.
    """
    if type(token) is not int:
        raise TypeError(f"delete_if_equal() takes an int token, not {token!r}")
    if "django_redis" in sys.modules:
        from django_redis.cache import RedisCache as DjangoRedisCache
        from django_redis.client import DefaultClient

        if isinstance(backend, DjangoRedisCache) and type(backend.client) is DefaultClient:
            # django-redis stores an int unpickled, as its decimal string
            made = backend.client.make_key(key)
            client = backend.client.get_client(write=True)
            return bool(_script(client)(keys=[made], args=[token]))
    if "django.core.cache.backends.redis" in sys.modules:
        from django.core.cache.backends.redis import RedisCache

        if isinstance(backend, RedisCache):
            made = backend.make_and_validate_key(key)
            client = backend._cache.get_client(made, write=True)  # RedisSerializer: int raw
            return bool(_script(client)(keys=[made], args=[token]))
    if type(backend) is LocMemCache or isinstance(backend, LocMemCache):
        made = backend.make_and_validate_key(key)
        data, _expiry, lock = locmem_state(backend)
        with lock:
            raw = data.get(made)
            if raw is None or pickle.loads(raw) != token:
                return False
            locmem_delete(backend, made)
            return True
    if isinstance(backend, DatabaseCache):
        # the row's value is base64(pickle(value, backend.pickle_protocol)): deterministic
        # for an int, so the comparison runs in the DELETE itself
        made = backend.make_and_validate_key(key)
        stored = base64.b64encode(pickle.dumps(token, backend.pickle_protocol)).decode("latin1")
        db = router.db_for_write(backend.cache_model_class)
        connection = connections[db]
        table = connection.ops.quote_name(backend.cache_model_class._meta.db_table)
        # inside a transaction: a savepoint, so a failure cannot abort the caller's
        with transaction.atomic(using=db), connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE cache_key = %s AND value = %s",
                [made, stored],
            )
            return bool(cursor.rowcount)
    # best available elsewhere: get, then delete (see the docstring)
    if backend.get(key) == token:
        backend.delete(key)
        return True
    return False
