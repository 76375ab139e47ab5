"""Dependency generations: targets -> generation keys, snapshots, bumps (transaction-aware).

A generation is a token; a bump writes a new one.  An entry stores the tokens of its
generations as read *before* computing and is fresh only while they are all unchanged, so a
missing generation (evicted, flushed, expired after ``PERFKIT["GENERATION_TIMEOUT"]``) counts
as changed and costs a recompute, never a stale value.  A token written by a bump carries the
time of the bump (milliseconds, above 32 random bits), which ``PERFKIT["REPLICA_LAG"]`` reads.

Keys (``P`` = ``PERFKIT["KEY_PREFIX"]``): ``P:g:app.model`` (any write to the table),
``P:g:app.model:<pk>`` (a write to that row), ``P:g:app.model:*`` (a write whose rows are not
known, such as a filtered ``QuerySet.update()``), ``P:f:<function>`` (``invalidate(function)``).
A row key longer than 200 characters (a long string pk) becomes ``P:g:app.model:h:<digest>``:
the database cache stores keys of up to 255 characters, memcached 250.

Inside a transaction bumps wait for the commit (see transactions.py).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.apps import apps
from django.db import connections
from django.db.models import Model

from perfkit.cache import databases, failures, targets, transactions
from perfkit.cache.catalog import registry
from perfkit.cache.keys import MAX_KEY_LENGTH, digest
from perfkit.cache.store import Store, get_store
from perfkit.conf import perfkit_settings
from perfkit.exceptions import ImproperlyConfiguredError
from perfkit.signals import cache_invalidated

__all__ = [
    "bump",
    "bumped_at",
    "dependency_keys",
    "label",
    "new_token",
    "snapshot",
    "storable",
    "uncommitted",
]

logger = logging.getLogger("perfkit.cache")
_random = random.SystemRandom()
# the wall clock of bump times and of the REPLICA_LAG check (tests replace it)
clock: Callable[[], float] = time.time
# alias -> generation keys whose bump could not reach that cache; replayed before its next read
pending: dict[str, set[str]] = {}
_pending_lock = threading.Lock()


def new_token() -> int:
    """A bump's token: the time in milliseconds above 32 random bits (an int: django-redis
    stores it unpickled)."""
    return (int(clock() * 1000) << 32) | _random.getrandbits(32)


def created_token() -> int:
    """The token of a generation created because it was missing: no bump time (epoch 0)."""
    return _random.getrandbits(32) | 1


def bumped_at(token: Any) -> float:
    """When the bump that wrote ``token`` happened (0.0: not a timed bump)."""
    return (token >> 32) / 1000 if type(token) is int else 0.0


def row_key(base: str, pk: Any) -> str:
    """The generation key of one row: ``base:pk``, or ``base:h:<digest>`` when that is too
    long for a cache key or has characters memcached refuses."""
    key = f"{base}:{pk}"
    if len(key) <= MAX_KEY_LENGTH and key.isprintable() and " " not in key:
        return key
    return f"{base}:h:{digest(str(pk))}"


def label(model: type[Model]) -> str:
    """``app_label.model`` of the concrete model (proxies share their concrete table)."""
    return model._meta.concrete_model._meta.label_lower  # type: ignore[union-attr]


def model_of(target: Any, where: str) -> type[Model]:
    if isinstance(target, str):
        try:
            return apps.get_model(target)
        except (LookupError, ValueError) as exc:
            raise ImproperlyConfiguredError(
                f"{where}: {target!r} is not an installed model; use 'app_label.ModelName' or "
                f"the model class."
            ) from exc
    if isinstance(target, type) and issubclass(target, Model):
        return target
    raise ImproperlyConfiguredError(
        f"{where}: {target!r} is not a dependency perfkit understands; use a model class, a "
        f"model instance, a (Model, pk) pair or 'app_label.ModelName'."
    )


def dependency_keys(target: Any, where: str) -> list[str]:
    """The generation keys an entry depending on ``target`` snapshots."""
    prefix = perfkit_settings.KEY_PREFIX
    if isinstance(target, databases.OnDatabase):
        keys = [key for inner in target.targets for key in dependency_keys(inner, where)]
        return databases.localise(keys, target.alias)
    if isinstance(target, Model):
        if target.pk is None:
            raise ImproperlyConfiguredError(
                f"{where}: {target!r} is unsaved (no pk); depend on its model instead."
            )
        model, pk = type(target), target.pk
    elif isinstance(target, tuple) and len(target) == 2:
        model, pk = model_of(target[0], where), target[1]
        if isinstance(pk, dict):  # (Review, {"product": 5}): field-scoped
            found = targets.field_targets(model, pk, where)
            return [
                *(field_key(model, name, value) for name, value in found),
                f"{base_of(model)}:*",
            ]
    else:
        return [f"{prefix}:g:{label(model_of(target, where))}"]
    base = f"{prefix}:g:{label(model)}"
    return [row_key(base, targets.canonical_pk(model, pk)), f"{base}:*"]


def base_of(model: type[Model]) -> str:
    return f"{perfkit_settings.KEY_PREFIX}:g:{label(model)}"


def field_key(model: type[Model], name: str, value: str) -> str:
    """The generation of the rows of ``model`` whose field ``name`` is ``value`` (canonical)."""
    return row_key(f"{base_of(model)}.{name}", value)


def write_keys(model: type[Model], pks: Iterable[Any] | None) -> list[str]:
    """The generation keys a write to ``model`` bumps (``pks`` None: rows not known)."""
    base = f"{perfkit_settings.KEY_PREFIX}:g:{label(model)}"
    if pks is None:
        return [base, base + ":*"]
    return [base, *(row_key(base, pk) for pk in pks)]


def snapshot(store: Store, keys: tuple[str, ...], found: dict[str, Any]) -> tuple[Any, ...]:
    """The current tokens of ``keys`` (from one read), creating the missing ones."""
    tokens = [found.get(key) for key in keys]
    if None in tokens:
        fresh = {
            key: created_token() for key, token in zip(keys, tokens, strict=False) if token is None
        }
        store.set_many(fresh, timeout=perfkit_settings.GENERATION_TIMEOUT)
        tokens = [found.get(key) or fresh[key] for key in keys]
    return tuple(tokens)


def aliases() -> set[str]:
    """The caches a bump goes to: ``CACHE_ALIAS``, ``INVALIDATION_ALIASES`` and every alias a
    @cached function of this process uses."""
    names = {perfkit_settings.CACHE_ALIAS, *perfkit_settings.INVALIDATION_ALIASES}
    for wrapper in list(registry.values()):
        names.add(wrapper.cache_alias)
    return names


def _bump_now(keys: list[str]) -> None:
    timeout = perfkit_settings.GENERATION_TIMEOUT
    for alias in aliases():
        try:
            store = get_store(alias)
        except Exception:  # an alias that is not configured (any more): nothing to bump
            logger.debug("perfkit.cache: no cache %r to bump", alias, exc_info=True)
            continue
        with _pending_lock:
            todo = set(keys) | pending.pop(alias, set())
        try:
            store.set_many({key: new_token() for key in todo}, timeout=timeout)
            if store.deferred():
                # written inside the caller's transaction (SQLite database cache): a rollback
                # would undo it, so it is written again once the transaction is over
                with _pending_lock:
                    pending.setdefault(alias, set()).update(todo)
        except Exception as exc:
            with _pending_lock:
                pending.setdefault(alias, set()).update(todo)
            try:
                failures.report(None, "invalidation", sorted(todo)[:10], alias, exc, "bump")
            except Exception:
                # FAIL_MODE closed must not break a database write either: the bump is kept
                logger.debug("perfkit.cache: bump kept for replay", exc_info=True)


def replay(store: Store) -> None:
    """Replay the bumps that could not reach ``store``'s cache (raises if it still fails)."""
    if store.deferred():
        return  # the caller's own transaction sees its bumps; replay once it is over
    with _pending_lock:
        todo = pending.pop(store.alias, None)
    if not todo:
        return
    try:
        store.set_many(
            {key: new_token() for key in todo}, timeout=perfkit_settings.GENERATION_TIMEOUT
        )
    except Exception:
        with _pending_lock:
            pending.setdefault(store.alias, set()).update(todo)
        raise


def bump(keys: list[str], *, targets: list[str], using: str | None = None) -> None:
    """Bump ``keys``: now, or when the transaction open on ``using`` commits."""
    keys = databases.localise(keys, using)
    if using is None:
        _bump_now(keys)
    else:
        connection = connections[using]
        if transactions.in_transaction(connection):
            # other connections cannot see the write before the commit; this thread bypasses
            # the cache for these keys until then
            transactions.defer(connection, using, keys, _bump_now)
        else:
            _bump_now(keys)
            if connection.in_atomic_block:  # a test case's own blocks count as committed
                transactions.defer(connection, using, keys, _bump_now)
    if cache_invalidated.receivers:
        cache_invalidated.send(sender=None, targets=targets, keys=keys)


# True when this thread's open transaction wrote one of the keys' targets: bypass the cache
# (the transactions function itself: this runs on every cache hit)
uncommitted = transactions.uncommitted


def storable(keys: tuple[str, ...], tokens: tuple[Any, ...]) -> bool:
    """May a value computed from generations ``tokens`` (read before computing) be stored?

    Not when this thread's transaction wrote one of them (it may roll back), nor inside a
    transaction above READ COMMITTED (its snapshot may predate another process's commit), nor
    within ``PERFKIT["REPLICA_LAG"]`` seconds of a bump of one of them (a lagging replica may
    not have the write yet): such values are served, not stored.
    """
    if transactions.uncommitted(keys) or transactions.snapshot_isolated():
        return False
    lag = perfkit_settings.REPLICA_LAG
    if lag and tokens:
        newest = max(bumped_at(token) for token in tokens)
        if clock() - newest < lag:
            return False
    return True
