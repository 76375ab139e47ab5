"""``@cached`` for functions, methods, classmethods, staticmethods and ``async def``."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterable
from typing import Any

from asgiref.sync import async_to_sync, markcoroutinefunction, sync_to_async

from perfkit.cache import generations
from perfkit.cache.catalog import WarmResult, register
from perfkit.cache.wrapper import _DEFAULT, Decision, Engine
from perfkit.exceptions import ImproperlyConfiguredError

__all__ = ["AsyncCachedFunction", "CachedFunction", "cached"]


class CachedFunction(Engine):
    """A cached sync function: call it like the function; see the methods for the rest."""

    _kind = "function"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        store, key, gkeys = self._begin(args, kwargs)
        if store is None:
            decision = Decision(True)
        else:
            hit, found = self._hit(store, key, gkeys)
            if hit:
                return found
            decision = self._decide(store, key, gkeys, args, kwargs, found)
            if not decision.compute:
                return decision.value
        started = time.perf_counter()
        try:
            value = self.func(*args, **kwargs)
        except Exception as exc:
            if decision.state == "refresh" and store is not None:
                self._refresh_failed(store, key, gkeys, decision, exc)
                return decision.value
            if decision.locked is not None and store is not None:
                self._store(store, key, gkeys, Decision(True, locked=decision.locked), None, 0.0)
            raise
        except BaseException:
            if decision.locked is not None and store is not None:
                self._store(store, key, gkeys, Decision(True, locked=decision.locked), None, 0.0)
            raise
        if store is not None:
            spent = time.perf_counter() - started
            self._store(store, key, gkeys, decision, value, spent, decision.state == "miss")
        return value

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if self._kind == "staticmethod":
            return self
        if self._kind == "classmethod":
            return BoundCached(self, objtype if objtype is not None else type(obj))
        return self if obj is None else BoundCached(self, obj)

    def invalidate(self, *args: Any, **kwargs: Any) -> None:
        """Drop the entry of this call; with no arguments (when it needs some), every entry."""
        self._forget(args, kwargs)

    def refresh(self, *args: Any, **kwargs: Any) -> Any:
        """Recompute this call now, store it and return the value."""
        store, key, gkeys = self._begin(args, kwargs)
        decision = self._snapshot(store, key, gkeys)
        started = time.perf_counter()
        value = self.func(*args, **kwargs)
        self._stats.refreshes += 1
        if store is not None:
            self._store(store, key, gkeys, decision, value, time.perf_counter() - started, False)
        return value

    def peek(self, *args: Any, **kwargs: Any) -> Any:
        """The cached value of this call, or ``perfkit.cache.MISSING``; never computes."""
        return self._peek(args, kwargs)

    def _snapshot(self, store: Any, key: str, gkeys: tuple[str, ...]) -> Decision:
        if store is None:
            return Decision(True)
        found = self._read(store, key, gkeys)
        if found is None:
            return Decision(True)
        try:
            # no lock: a stale serve that enqueued this refresh released its own already
            tokens = generations.snapshot(store, gkeys, found)
            return Decision(True, tokens=tokens)
        except Exception as exc:
            self._fail(key, store.alias, exc, "set")
            return Decision(True)

    def warm_many(self, calls: Iterable[tuple[tuple[Any, ...], dict[str, Any]]]) -> WarmResult:
        """Compute and store many calls with ONE ``set_many`` (a failing call is recorded)."""
        from perfkit.cache.warm import warm_many

        return warm_many(self, calls)

    def _compute_sync(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return self.func(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<cached {self.perfkit_name}>"


class AsyncCachedFunction(CachedFunction):
    """A cached ``async def``: cache calls run off the event loop; twins start with ``a``."""

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        store, key, gkeys = self._begin(args, kwargs)
        if store is None:
            return await self.func(*args, **kwargs)
        decision = await _off_loop(store, self._decide, store, key, gkeys, args, kwargs)
        if not decision.compute:
            return decision.value
        started = time.perf_counter()
        try:
            value = await self.func(*args, **kwargs)
        except Exception as exc:
            if decision.state == "refresh":
                await _off_loop(store, self._refresh_failed, store, key, gkeys, decision, exc)
                return decision.value
            if decision.locked is not None:
                await _off_loop(store, self._store, store, key, gkeys,
                                Decision(True, locked=decision.locked), None, 0.0)  # fmt: skip
            raise
        except BaseException:
            if decision.locked is not None:
                await _off_loop(store, self._store, store, key, gkeys,
                                Decision(True, locked=decision.locked), None, 0.0)  # fmt: skip
            raise
        spent = time.perf_counter() - started
        miss = decision.state == "miss"
        await _off_loop(store, self._store, store, key, gkeys, decision, value, spent, miss)
        return value

    async def ainvalidate(self, *args: Any, **kwargs: Any) -> None:
        await sync_to_async(self._forget)(args, kwargs)

    async def arefresh(self, *args: Any, **kwargs: Any) -> Any:
        store, key, gkeys = self._begin(args, kwargs)
        decision = await sync_to_async(self._snapshot)(store, key, gkeys)
        started = time.perf_counter()
        value = await self.func(*args, **kwargs)
        self._stats.refreshes += 1
        if store is not None:
            spent = time.perf_counter() - started
            await sync_to_async(self._store)(store, key, gkeys, decision, value, spent, False)
        return value

    async def apeek(self, *args: Any, **kwargs: Any) -> Any:
        return await sync_to_async(self._peek)(args, kwargs)

    def refresh(self, *args: Any, **kwargs: Any) -> Any:
        """Sync twin of ``arefresh`` (used by Celery's ``perfkit.refresh``)."""
        return async_to_sync(self.arefresh)(*args, **kwargs)

    def peek(self, *args: Any, **kwargs: Any) -> Any:
        return self._peek(args, kwargs)

    def _compute_sync(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return async_to_sync(self.func)(*args, **kwargs)


async def _off_loop(store: Any, method: Callable[..., Any], *args: Any) -> Any:
    # local memory never blocks: skip the thread hop.  The database cache must run where the
    # request's connection lives (thread_sensitive); network caches use the thread pool, so
    # concurrent requests do not queue behind one thread.
    if store.fast is not None and store.fast.__class__.__name__ == "FastLocMem":
        return method(*args)
    return await sync_to_async(method, thread_sensitive=store.db is not None)(*args)


class BoundCached:
    """A cached method bound to its instance (or class): the wrapper's methods, bound."""

    __slots__ = ("__self__", "wrapper")

    def __init__(self, wrapper: CachedFunction, obj: Any) -> None:
        self.wrapper = wrapper
        self.__self__ = obj

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.wrapper(self.__self__, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.wrapper, name)
        if name in _BOUND_METHODS:
            obj = self.__self__
            return lambda *args, **kwargs: attr(obj, *args, **kwargs)
        return attr


_BOUND_METHODS = {"invalidate", "refresh", "peek", "key_for", "ainvalidate", "arefresh", "apeek"}


def cached(
    timeout: float | None = _DEFAULT,  # type: ignore[assignment]
    *,
    key: str | Callable[..., Any] | None = None,
    depends_on: Any = (),
    cache: str | None = None,
    stale: float | None = None,
    lock: bool = True,
    early_refresh: bool = True,
    cache_none: bool = True,
    version: Any = None,
    name: str | None = None,
) -> Callable[[Any], Any]:
    """Cache a function's results, invalidated by writes to the models it ``depends_on``.

    ``timeout``: seconds fresh (default ``PERFKIT["DEFAULT_TIMEOUT"]``; None: until
    invalidated).  ``key``: a format string over the arguments or a callable; default: the
    function's name and a stable digest of the arguments.  ``stale``: seconds an expired value
    is still served while one caller refreshes it.  ``version``: part of every key (bump it when
    the returned format changes).  ``name``: the function's registry name and key stem
    (default ``module.qualname``; see perfkit.cache.naming for closures and lambdas).  See
    docs/cache.md for every option.
    """
    bare: Any = timeout  # typed as seconds, but @cached without parentheses passes the function
    if callable(bare) or isinstance(bare, (classmethod, staticmethod)):
        # bare @cached: the defaults (the wrapper, which is callable like the function)
        wrapper: Callable[[Any], Any] = cached()(bare)
        return wrapper
    _check(timeout, "timeout", allow_none=True)
    _check(stale, "stale", allow_none=True)
    if name is not None and (not isinstance(name, str) or not name or not name.isprintable()):
        raise ImproperlyConfiguredError(
            f"@cached(name={name!r}): name must be a non-empty printable string, unique among "
            "cached functions (it names the registry slot and starts every key)."
        )

    def decorate(func: Any) -> Any:
        kind = "function"
        if isinstance(func, (classmethod, staticmethod)):
            kind = type(func).__name__
            func = func.__func__
        if not callable(func):
            raise ImproperlyConfiguredError(f"@cached decorates a function, not {func!r}.")
        is_async = inspect.iscoroutinefunction(func)
        wrapper = (AsyncCachedFunction if is_async else CachedFunction).__new__(
            AsyncCachedFunction if is_async else CachedFunction
        )
        wrapper._setup(func, timeout=timeout, key=key, depends_on=depends_on, cache=cache,
                       stale=stale, lock=lock, early_refresh=early_refresh,
                       cache_none=cache_none, version=version, name=name)  # fmt: skip
        wrapper._kind = kind
        if is_async:
            markcoroutinefunction(wrapper)
        register(wrapper)
        return wrapper

    return decorate


def _check(value: Any, name: str, *, allow_none: bool) -> None:
    if value is _DEFAULT or (value is None and allow_none):
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ImproperlyConfiguredError(
            f"@cached({name}={value!r}): {name} must be a number of seconds >= 0 or None."
        )
