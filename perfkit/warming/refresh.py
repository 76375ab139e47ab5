"""Refresh-ahead through Celery: a stale ``@cached`` entry is recomputed by a worker.

``install_refresher()`` hands ``enqueue_refresh`` to ``perfkit.cache.set_background_refresher``.
On a stale serve perfkit.cache calls it; it enqueues ``perfkit.refresh`` (JSON arguments) unless
a refresh of the same key is already queued or running, and returns True so the request just
serves the stale value.  It returns False when Celery is not active,
``PERFKIT["REFRESH_IN_BACKGROUND"]`` is off, the broker does not answer, or the arguments are not
JSON: perfkit.cache then hands the refresh to its in-process threads (``REFRESH_THREADS``), or
refreshes in the request when there are none.
"""

from __future__ import annotations

import importlib
import logging
import socket
import time
from typing import Any

from perfkit.conf import perfkit_settings
from perfkit.exceptions import WarmingArgumentError, WarmingError
from perfkit.warming import chunks as _chunks
from perfkit.warming.encoding import encode_call

__all__ = ["REFRESH_PRIORITY", "cached_function", "enqueue_refresh", "install_refresher"]

logger = logging.getLogger("perfkit.warming")
# a user is looking at stale data: more urgent than the default warmer priority (5)
REFRESH_PRIORITY = 7


def _cache_registry() -> dict[str, Any]:
    from perfkit.cache import registry

    return registry


def cached_function(name: str) -> Any:
    """The ``@cached`` wrapper registered as ``name``, importing its module if needed.

    A Celery message names the function, so only modules of installed apps (or already
    imported) are imported to find it: a message cannot make the worker import anything else.
    """
    found = _cache_registry().get(name)
    module = name
    while found is None and "." in module:
        module = module.rsplit(".", 1)[0]
        if not _importable(module):
            continue
        try:
            importlib.import_module(module)
        except ImportError:
            continue
        found = _cache_registry().get(name)
    if found is None:
        raise WarmingError(
            f"No @cached function named {name!r} in perfkit.cache.registry. perfkit.refresh "
            "imports only modules of INSTALLED_APPS (and modules already imported) to find it; "
            "is the function defined in one of them?"
        )
    return found


def _importable(module: str) -> bool:
    import sys

    from django.apps import apps

    if module in sys.modules:
        return True
    if not all(part.isidentifier() for part in module.split(".")):
        return False
    return any(
        module == config.name or module.startswith(config.name + ".")
        for config in apps.get_app_configs()
    )


def refresh_lock_prefix() -> str:
    """Every refresh lock starts with this (the KEY_PREFIX, then an entry key)."""
    prefix = perfkit_settings.KEY_PREFIX
    return f"{prefix}:warm:refresh:{prefix}:c:"


# after the broker failed to answer: monotonic time before which no enqueue is tried
_broker_down_until = [0.0]
BROKER_PROBE_TIMEOUT = 0.25
BROKER_DOWN_BACKOFF = 5.0


def _broker_answers(app: Any) -> bool:
    """A quick TCP probe: redis-py retries a refused connection for seconds, a request can't."""
    now = time.monotonic()
    if now < _broker_down_until[0]:
        return False
    from kombu import Connection

    conn = Connection(app.conf.broker_write_url or app.conf.broker_url)
    if conn.transport.driver_type not in {"redis", "amqp"} or not conn.hostname:
        return True
    try:
        port = conn.port or conn.transport.default_port
        socket.create_connection((conn.hostname, port), timeout=BROKER_PROBE_TIMEOUT).close()
    except OSError:
        _broker_down_until[0] = now + BROKER_DOWN_BACKOFF
        return False
    return True


def refresh_lock_ttl() -> int:
    return int(perfkit_settings.WARMING_TIME_LIMIT) + 60


def enqueue_refresh(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Enqueue ``perfkit.refresh`` for one entry; False means "refresh it yourself"."""
    from perfkit.warming.broker import broker_priority, celery_active, get_app, queue_name

    app = get_app()
    name = getattr(func, "perfkit_name", None)
    if not perfkit_settings.REFRESH_IN_BACKGROUND or not name or not celery_active(app):
        return False
    try:
        encoded_args, encoded_kwargs = encode_call((tuple(args), dict(kwargs)), warmer=name)
    except WarmingArgumentError as exc:
        logger.debug("perfkit.refresh of %s stays in-process: %s", name, exc)
        return False
    lock = f"{perfkit_settings.KEY_PREFIX}:warm:refresh:{func.key_for(*args, **kwargs)}"
    cache = _chunks.lock_cache(func)
    if not cache.add(lock, 1, refresh_lock_ttl()):
        # a refresh of this entry is already queued or running: drop this one (before the
        # broker probe: every stale serve while a worker refreshes gets here)
        return True
    if not _broker_answers(app):
        cache.delete(lock)
        return False
    try:
        app.signature(
            "perfkit.refresh",
            kwargs={"name": name, "args": encoded_args, "kwargs": encoded_kwargs, "lock": lock},
            queue=queue_name(app),
            priority=broker_priority(app, REFRESH_PRIORITY),
            serializer="json",
            time_limit=perfkit_settings.WARMING_TIME_LIMIT,
            soft_time_limit=perfkit_settings.WARMING_SOFT_TIME_LIMIT,
        ).apply_async(retry=False)  # a request must not wait out a broker outage
    except Exception:
        _broker_down_until[0] = time.monotonic() + BROKER_DOWN_BACKOFF
        cache.delete(lock)
        logger.warning("perfkit.refresh of %s could not be enqueued", name, exc_info=True)
        return False
    return True


def release_refresh_lock(func: Any, lock: str) -> None:
    """Delete a refresh lock named in a ``perfkit.refresh`` message (only such a lock)."""
    if not isinstance(lock, str) or not lock.startswith(refresh_lock_prefix()):
        raise WarmingError(
            f"perfkit.refresh: {lock!r} is not a perfkit refresh lock (those start with "
            f"{refresh_lock_prefix()!r}); the message was not made by perfkit's enqueue_refresh, "
            "so no key is deleted."
        )
    _chunks.lock_cache(func).delete(lock)


def install_refresher() -> bool:
    """Make stale ``@cached`` serves refresh through Celery; False if perfkit.cache lacks it."""
    try:
        from perfkit.cache import set_background_refresher
    except ImportError:
        return False
    set_background_refresher(enqueue_refresh)
    return True
