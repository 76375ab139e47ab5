"""Dependency generations: targets -> generation keys, snapshots, bumps (transaction-aware).

A generation is a random token stored with no expiry; a bump writes a new one.  An entry
stores the tokens of its generations as read *before* computing and is fresh only while they
are all unchanged, so a missing generation (evicted, flushed) counts as changed.

Keys (``P`` = ``PERFKIT["KEY_PREFIX"]``): ``P:g:app.model`` (any write to the table),
``P:g:app.model:<pk>`` (a write to that row), ``P:g:app.model:*`` (a write whose rows are not
known, such as a filtered ``QuerySet.update()``), ``P:f:<function>`` (``invalidate(function)``).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.db import connections
from django.db.models import Model

from perfkit.cache import failures, targets
from perfkit.cache.catalog import registry
from perfkit.cache.store import Store, get_store
from perfkit.conf import perfkit_settings
from perfkit.exceptions import ImproperlyConfiguredError
from perfkit.internals import orm
from perfkit.signals import cache_invalidated

__all__ = ["bump", "dependency_keys", "label", "new_token", "snapshot", "uncommitted"]

_random = random.SystemRandom()
_tx = threading.local()
# alias -> generation keys whose bump could not reach that cache; replayed before its next read
pending: dict[str, set[str]] = {}
_pending_lock = threading.Lock()


def new_token() -> int:
    """A fresh generation token (an int: django-redis stores it unpickled)."""
    return _random.getrandbits(62)


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
    return [f"{base}:{targets.canonical_pk(model, pk)}", f"{base}:*"]


def base_of(model: type[Model]) -> str:
    return f"{perfkit_settings.KEY_PREFIX}:g:{label(model)}"


def field_key(model: type[Model], name: str, value: str) -> str:
    """The generation of the rows of ``model`` whose field ``name`` is ``value`` (canonical)."""
    return f"{base_of(model)}.{name}={value}"


def write_keys(model: type[Model], pks: Iterable[Any] | None) -> list[str]:
    """The generation keys a write to ``model`` bumps (``pks`` None: rows not known)."""
    base = f"{perfkit_settings.KEY_PREFIX}:g:{label(model)}"
    if pks is None:
        return [base, base + ":*"]
    return [base, *(f"{base}:{pk}" for pk in pks)]


def snapshot(store: Store, keys: tuple[str, ...], found: dict[str, Any]) -> tuple[Any, ...]:
    """The current tokens of ``keys`` (from one read), creating the missing ones."""
    tokens = [found.get(key) for key in keys]
    if None in tokens:
        fresh = {
            key: new_token() for key, token in zip(keys, tokens, strict=False) if token is None
        }
        store.set_many(fresh, timeout=None)
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
    for alias in aliases():
        try:
            store = get_store(alias)
        except Exception:  # an alias that is not configured (any more): nothing to bump
            continue
        with _pending_lock:
            todo = set(keys) | pending.pop(alias, set())
        try:
            store.set_many({key: new_token() for key in todo}, timeout=None)
        except Exception as exc:
            with _pending_lock:
                pending.setdefault(alias, set()).update(todo)
            try:
                failures.report(None, "invalidation", sorted(todo)[:10], alias, exc, "bump")
            except Exception:
                # FAIL_MODE closed must not break a database write either: the bump is kept
                pass


def replay(store: Store) -> None:
    """Replay the bumps that could not reach ``store``'s cache (raises if it still fails)."""
    with _pending_lock:
        todo = pending.pop(store.alias, None)
    if not todo:
        return
    try:
        store.set_many({key: new_token() for key in todo}, timeout=None)
    except Exception:
        with _pending_lock:
            pending.setdefault(store.alias, set()).update(todo)
        raise


def _in_transaction(connection: Any) -> bool:
    # a test case's own atomic blocks count as committed
    return connection.in_atomic_block and any(
        not orm.testcase_block(block) for block in connection.atomic_blocks
    )


def _bump_on_commit(connection: Any, using: str, keys: list[str]) -> None:
    # one on_commit callback per savepoint level collects every key written there, so a loop
    # of 10,000 saves in one transaction bumps once at commit, not 10,000 times.  A callback
    # is reused only while Django still holds it: a rollback drops it, and the next write
    # registers a new one.
    waiting = getattr(_tx, "commit", None)
    if waiting is None:
        waiting = _tx.commit = {}
    ident = (using, id(connection), tuple(connection.savepoint_ids))
    entry = waiting.get(ident)
    if entry is not None and any(item[1] is entry[1] for item in connection.run_on_commit):
        entry[0].update(keys)
        return
    collected = set(keys)

    def flush() -> None:
        if waiting.get(ident, (None,))[0] is collected:
            del waiting[ident]
        _bump_now(sorted(collected))

    if len(waiting) > 1000:  # entries of rolled-back transactions: their callbacks are gone
        waiting.clear()
    waiting[ident] = (collected, flush)
    connection.on_commit(flush, robust=True)


def bump(keys: list[str], *, targets: list[str], using: str | None = None) -> None:
    """Bump ``keys`` now and, inside a transaction on ``using``, again when it commits."""
    _bump_now(keys)
    if using is not None:
        connection = connections[using]
        if connection.in_atomic_block:
            _bump_on_commit(connection, using, keys)
            if _in_transaction(connection):
                dirty = getattr(_tx, "dirty", None)
                if dirty is None:
                    dirty = _tx.dirty = {}
                dirty.setdefault(using, set()).update(keys)
    if cache_invalidated.receivers:
        cache_invalidated.send(sender=None, targets=targets, keys=keys)


def uncommitted(keys: tuple[str, ...]) -> bool:
    """True when this thread's open transaction wrote one of ``keys``' targets (do not store)."""
    dirty = getattr(_tx, "dirty", None)
    if not dirty:
        return False
    for using, written in list(dirty.items()):
        if not _in_transaction(connections[using]):
            del dirty[using]
        elif not written.isdisjoint(keys):
            return True
    return False
