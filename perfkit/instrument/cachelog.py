"""Capture cache operations: ``capture_cache()`` -> ``CacheLog`` of ``CacheOp``.

While active, the methods of every Django cache alias (sync and async forms, and the
``perfkit_strict`` view of perfkit.backends' caches) are wrapped on the cache objects, and an
observer is added to ``perfkit.instrument.observe.cache_observers`` for operations made
through a backend's own client.  Everything is restored on exit.  A call made *inside* a
recorded call (``BaseCache.get_many`` calling ``self.get``; ``aget`` running ``get`` in a
thread) is not recorded twice.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import types
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches

from perfkit.conf import perfkit_settings
from perfkit.instrument.locations import caller_location
from perfkit.instrument.observe import cache_observers

__all__ = ["CacheLog", "CacheOp", "capture_cache"]

logger = logging.getLogger(__name__)

# get_or_set is one operation (a hit, or a miss that stores): the get/add/get the backend
# makes inside it are not recorded again
READS = {"get", "get_many", "has_key", "get_or_set"}
SETS = {"set", "set_many", "add"}
DELETES = {"delete", "delete_many"}
OTHERS = {"incr", "decr", "touch", "clear"}
_MANY = {"get_many", "set_many", "delete_many"}
# the name of the first parameter of each method, for calls that pass it by keyword
_FIRST = {"get_many": "keys", "delete_many": "keys", "set_many": "data"}
METHODS = sorted(READS | SETS | DELETES | OTHERS)
_MISSING = object()


@dataclass(frozen=True)
class CacheOp:
    """One cache operation: method name, alias, key (as given to Django), hit (reads only)."""

    op: str
    alias: str
    key: Any
    hit: bool | None
    location: str | None

    @property
    def kind(self) -> str:
        """``op`` without the async ``a`` prefix: ``aget`` -> ``get``."""
        return self.op[1:] if self.op.startswith("a") and self.op[1:] in METHODS else self.op


class CacheLog:
    """The cache operations captured by ``capture_cache()``, in order."""

    def __init__(self, aliases: Sequence[str] | None) -> None:
        self.aliases = tuple(aliases) if aliases is not None else None
        self.ops: list[CacheOp] = []

    def __len__(self) -> int:
        return len(self.ops)

    def __iter__(self) -> Iterator[CacheOp]:
        return iter(list(self.ops))

    def __getitem__(self, index: int) -> CacheOp:
        return self.ops[index]

    def __repr__(self) -> str:
        return (
            f"<CacheLog {len(self.ops)} ops: {self.hits} hits, {self.misses} misses, "
            f"{self.sets} sets, {self.deletes} deletes>"
        )

    @property
    def hits(self) -> int:
        return sum(1 for o in self.ops if o.hit is True)

    @property
    def misses(self) -> int:
        return sum(1 for o in self.ops if o.hit is False)

    @property
    def sets(self) -> int:
        """Writes: set, set_many entries, add, and each get_or_set that missed (and stored)."""
        return sum(
            1 for o in self.ops if o.kind in SETS or (o.kind == "get_or_set" and o.hit is False)
        )

    @property
    def deletes(self) -> int:
        return sum(1 for o in self.ops if o.kind in DELETES)

    def clear(self) -> None:
        self.ops.clear()


# --- recording -------------------------------------------------------------------------------

_logs: list[CacheLog] = []
_inside: ContextVar[bool] = ContextVar("perfkit_cache_op", default=False)
# inside a recorded get_or_set: the kinds of the calls the backend makes to itself
_nested: ContextVar[list[str] | None] = ContextVar("perfkit_cache_nested", default=None)
_lock = threading.Lock()
_patched: list[tuple[Any, str, Any]] = []


def _record(op: str, alias: str, keys: Sequence[Any], hits: Sequence[bool | None]) -> None:
    logs = [log for log in tuple(_logs) if log.aliases is None or alias in log.aliases]
    if not logs:
        return
    location = caller_location(2) if perfkit_settings.CAPTURE_LOCATIONS else None
    entries = [CacheOp(op, alias, k, h, location) for k, h in zip(keys, hits, strict=True)]
    for log in logs:
        log.ops.extend(entries)


def _observer(op: str, alias: str, key: Any, hit: bool | None) -> None:
    if not _inside.get():
        _record(op, alias, [key], [hit])


def _first(kind: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The key (or keys, or mapping) of a call, given by position or by keyword."""
    if args:
        return args[0]
    return kwargs.get(_FIRST.get(kind, "key"))


def _outcome(
    kind: str, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any, nested: list[str]
) -> tuple[list[Any], list[Any]]:
    first = _first(kind, args, kwargs)
    if kind == "get":
        return [first], [result is not _MISSING]
    if kind == "get_or_set":  # a miss is the one that had to store the default
        return [first], [not any(k in SETS for k in nested)]
    if kind == "has_key":
        return [first], [bool(result)]
    if kind == "get_many":
        keys = list(first or ())
        return keys, [k in result for k in keys]
    if kind == "clear":
        return [None], [None]
    if kind in _MANY:  # set_many(mapping) / delete_many(keys)
        keys = list(first or ())
        return keys, [None] * len(keys)
    return [first], [None]


def _wrap(cache: Any, op: str, alias: str) -> Any:
    original = getattr(cache, op)
    kind = op[1:] if op.startswith("a") and op[1:] in METHODS else op

    def prepare(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any, Any]:
        if kind != "get":
            return args, kwargs, None
        # swap the caller's default for a sentinel so a hit is told from a miss
        kwargs = dict(kwargs)
        key = args[0] if args else kwargs.pop("key")
        default = args[1] if len(args) > 1 else kwargs.pop("default", None)
        return (key, _MISSING, *args[2:]), kwargs, default

    def finish(
        args: tuple[Any, ...], kwargs: dict[str, Any], result: Any, default: Any, nested: list[str]
    ) -> Any:
        keys, hits = _outcome(kind, args, kwargs, result, nested)
        _record(op, alias, keys, hits)
        return default if kind == "get" and result is _MISSING else result

    def note_nested() -> None:
        nested = _nested.get()
        if nested is not None:
            nested.append(kind)

    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def async_wrapper(_self: Any, *args: Any, **kwargs: Any) -> Any:
            if _inside.get():
                note_nested()
                return await original(*args, **kwargs)
            call_args, call_kwargs, default = prepare(args, kwargs)
            nested: list[str] = []
            token, nested_token = _inside.set(True), _nested.set(nested)
            try:
                result = await original(*call_args, **call_kwargs)
            finally:
                _nested.reset(nested_token)
                _inside.reset(token)
            return finish(call_args, call_kwargs, result, default, nested)

        return _bound(async_wrapper, cache)

    @functools.wraps(original)
    def wrapper(_self: Any, *args: Any, **kwargs: Any) -> Any:
        if _inside.get():
            note_nested()
            return original(*args, **kwargs)
        call_args, call_kwargs, default = prepare(args, kwargs)
        nested: list[str] = []
        token, nested_token = _inside.set(True), _nested.set(nested)
        try:
            result = original(*call_args, **call_kwargs)
        finally:
            _nested.reset(nested_token)
            _inside.reset(token)
        return finish(call_args, call_kwargs, result, default, nested)

    return _bound(wrapper, cache)


def _bound(func: Any, target: Any) -> Any:
    # Installed as a real bound method, not a plain function: Django 6.1's BaseCache.aget_many
    # and friends read ``self.get_many.__func__`` to see whether a backend overrides a method.
    func._perfkit_wrapped = True
    return types.MethodType(func, target)


def _patch_all() -> None:
    for alias in settings.CACHES:
        try:
            cache = caches[alias]
        except Exception as exc:  # a backend that cannot even be built records nothing
            logger.warning(
                "capture_cache: cache %r cannot be built (%s: %s); its operations are not "
                "recorded.",
                alias,
                type(exc).__name__,
                exc,
            )
            continue
        targets = [cache]
        strict = getattr(cache, "perfkit_strict", None)
        if strict is not None and strict is not cache:
            targets.append(strict)
        for target in targets:
            for name in METHODS:
                for op in (name, "a" + name):
                    _patch(target, op, alias)
    cache_observers.append(_observer)


def _patch(target: Any, op: str, alias: str) -> None:
    # a view may create its methods lazily into its __dict__ (perfkit.backends' StrictCache):
    # remember what was there, to put it back
    before = vars(target).get(op, _MISSING)
    if getattr(before, "_perfkit_wrapped", False):
        return
    if not callable(getattr(target, op, None)):
        return
    setattr(target, op, _wrap(target, op, alias))
    _patched.append((target, op, before))


def _unpatch_all() -> None:
    while _patched:
        target, op, before = _patched.pop()
        if before is _MISSING:
            vars(target).pop(op, None)
        else:
            setattr(target, op, before)
    if _observer in cache_observers:
        cache_observers.remove(_observer)


@contextmanager
def capture_cache(aliases: str | Sequence[str] | None = None) -> Iterator[CacheLog]:
    """Capture the cache operations made inside the block on ``aliases`` (None = every alias)."""
    if isinstance(aliases, str):
        aliases = [aliases]
    if aliases is not None:
        unknown = [a for a in aliases if a not in settings.CACHES]
        if unknown:
            from perfkit.exceptions import ImproperlyConfiguredError

            raise ImproperlyConfiguredError(
                f"capture_cache(aliases={aliases!r}): no cache named {unknown[0]!r} in "
                f"settings.CACHES; choose among {sorted(settings.CACHES)} or pass None for all."
            )
    log = CacheLog(aliases)
    with _lock:
        if not _logs:
            _patch_all()
        _logs.append(log)
    try:
        yield log
    finally:
        with _lock:
            _logs.remove(log)
            if not _logs:
                _unpatch_all()
