"""``wrapper.warm_many(calls)``: compute many calls, store them with ONE ``set_many``."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from perfkit.cache import envelope, generations
from perfkit.cache.catalog import WarmResult

__all__ = ["warm_many"]


def warm_many(wrapper: Any, calls: Iterable[tuple[tuple[Any, ...], dict[str, Any]]]) -> WarmResult:
    """Compute each ``(args, kwargs)`` call of ``wrapper`` and store every result at once.

    Each call's generations are read before it is computed (one read for all calls), so a
    write landing meanwhile leaves the stored entry stale, as for an ordinary miss.  A call
    that raises is recorded in ``failed`` and does not stop the others.
    """
    started = time.perf_counter()
    result = WarmResult()
    planned: list[tuple[tuple[Any, ...], dict[str, Any], str, tuple[str, ...]]] = []
    for args, kwargs in calls:
        args, kwargs = tuple(args), dict(kwargs)
        try:
            key, gkeys = wrapper._keys(args, kwargs)
        except Exception as exc:
            result.failed.append((args, kwargs, f"{type(exc).__name__}: {exc}"))
            continue
        planned.append((args, kwargs, key, gkeys))
    if not planned:
        result.seconds = time.perf_counter() - started
        return result
    store = generations.get_store(wrapper.cache_alias)
    every = tuple(sorted({k for *_, gkeys in planned for k in gkeys}))
    found = store.get_many(list(every))
    tokens_of = dict(zip(every, generations.snapshot(store, every, found), strict=False))
    timeout = wrapper._resolved[3]
    entries: dict[str, Any] = {}
    for args, kwargs, key, gkeys in planned:
        tokens = tuple(tokens_of[k] for k in gkeys)
        t0 = time.perf_counter()
        try:
            value = wrapper._compute_sync(args, kwargs)
        except Exception as exc:
            result.failed.append((args, kwargs, f"{type(exc).__name__}: {exc}"))
            continue
        spent = time.perf_counter() - t0
        wrapper._stats.refreshes += 1
        wrapper._stats.compute_time += spent
        if (value is None and not wrapper.cache_none) or generations.uncommitted(gkeys):
            continue
        now = time.time()
        soft = now + timeout if timeout is not None else float("inf")
        entries[key] = envelope.pack(value, tokens, now, spent, soft)
    if entries:
        hard = None if timeout is None else timeout + (wrapper.stale or 0)
        store.set_many(entries, timeout=hard)
        result.stored = len(entries)
    result.seconds = time.perf_counter() - started
    return result
