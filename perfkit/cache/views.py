"""``@cached_view`` for function views (sync and ``async def``), ``CachedViewMixin`` for classes.

A response is served to a visitor only if the same key (scheme, host, path, query, ``vary_on``
headers, language, time zone and, with ``per_user=True``, the identity) was stored from a
response no rule in ``perfkit.cache.viewrules`` refused.  HEAD requests are served from a cached
GET but never stored.  In DEBUG (with ``PERFKIT["VIEW_CACHE_HEADER"]``) responses carry
``X-Perfkit-Cache: hit|miss|stale``.  docs/cache.md states every rule.
"""

from __future__ import annotations

import contextvars
import functools
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse

from perfkit.cache import viewrules
from perfkit.cache.catalog import registry
from perfkit.cache.decorators import CachedFunction, _check, _off_loop
from perfkit.cache.store import Store
from perfkit.cache.viewrules import (
    UNBOUNDED_FIX,
    Snapshot,
    ViewOptions,
    ViewRules,
    unbounded_problem,
    view_options,
)
from perfkit.cache.wrapper import _DEFAULT, _UNCACHED, Decision

__all__ = ["CachedViewMixin", "cached_view"]

Stored = tuple[bytes, int, list[tuple[str, str]]]

# the key of the call being looked up, handed to the engine's key function
_current_key: contextvars.ContextVar[str] = contextvars.ContextVar("perfkit_view_key")


class _NotStored(Exception):
    """Carries a response that must not be cached out of the cached computation."""

    def __init__(self, response: Any) -> None:
        self.response = response


class _Call:
    """One request through a cached view: its key identity and engine state."""

    __slots__ = ("decision", "failed", "gkeys", "identity", "key", "store")

    def __init__(self, identity: viewrules.Identity) -> None:
        self.identity = identity
        self.store: Store | None = None
        self.key = ""
        self.gkeys: tuple[str, ...] = ()
        self.decision = Decision(True)
        self.failed = False  # the cache could not be read: not a miss


def cached_view(
    timeout: float | None = _DEFAULT,  # type: ignore[assignment]
    *,
    depends_on: Any = (),
    per_user: bool = False,
    vary_on: Iterable[str] = (),
    query: Iterable[str] | None = None,
    cache: str | None = None,
    stale: float | None = None,
) -> Callable[[Any], Any]:
    """Cache a view's 200 GET responses; ``depends_on`` callables get ``(request, ...)``.

    ``query``: the query parameters the view reads (the others bypass the cache); ``None``
    keys on the whole query string.  See docs/cache.md for the rules.
    """
    if isinstance(vary_on, str) or (query is not None and isinstance(query, str)):
        raise TypeError(
            "@cached_view(vary_on=..., query=...) take a list of names, not one string: "
            "write vary_on=['Accept'] / query=['page']."
        )
    vary_on = tuple(vary_on)
    _check(timeout, "timeout", allow_none=True)
    _check(stale, "stale", allow_none=True)
    allowed = frozenset(query) if query is not None else None

    def decorate(view: Any) -> Any:
        if isinstance(view, type):
            attrs = {
                "__module__": view.__module__,
                "__qualname__": view.__qualname__,
                "__doc__": view.__doc__,
                "cache_timeout": timeout,
                "cache_depends_on": depends_on,
                "cache_per_user": per_user,
                "cache_vary_on": tuple(vary_on),
                "cache_query": None if allowed is None else tuple(sorted(allowed)),
                "cache_alias": cache,
                "cache_stale": stale,
            }
            return type(view.__name__, (CachedViewMixin, view), attrs)
        return _ViewCache(
            view, timeout, depends_on, per_user, vary_on, allowed, cache, stale
        ).wrapper

    return decorate


class _ViewCache:
    """The engine and the two wrappers (sync, async) of one decorated view."""

    def __init__(
        self,
        view: Any,
        timeout: Any,
        depends_on: Any,
        per_user: bool,
        vary: Iterable[str],
        query: frozenset[str] | None,
        cache: str | None,
        stale: float | None,
    ) -> None:
        self.view = view
        self.per_user = per_user
        self.rules = ViewRules(per_user=per_user, vary=vary, query=query)

        def render(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            return view(request, *args, **kwargs)  # the engine's func: names the entries

        functools.update_wrapper(render, view)
        # class-based views: as_view()'s inner function has the same qualname for every class
        owner = getattr(view, "view_class", None)
        if owner is not None:
            render.__module__, render.__qualname__ = owner.__module__, owner.__qualname__
        self.engine = engine = CachedFunction.__new__(CachedFunction)
        engine.hands_off = False  # a refresh renders this request's response, checked here
        engine._setup(render, timeout=timeout, key=self._key, depends_on=depends_on,
                      cache=cache, stale=stale, lock=True, early_refresh=True, cache_none=False,
                      version=None)  # fmt: skip
        registry[engine.perfkit_name] = engine
        options = ViewOptions(engine.perfkit_name, timeout, query)
        view_options[engine.perfkit_name] = options
        if options.unbounded:
            warnings.warn(
                f"{unbounded_problem(engine.perfkit_name)} {UNBOUNDED_FIX}",
                RuntimeWarning,
                stacklevel=4,
            )
        self.wrapper = self._async_wrapper() if iscoroutinefunction(view) else self._wrapper()

    # -- the steps shared by both wrappers ---------------------------------------------------
    def _key(self, request: HttpRequest, *args: Any, **kwargs: Any) -> str:
        """The engine's key function: the key of the call under way, else the request's."""
        text = _current_key.get(None)
        if text is None:  # key_for(request) / invalidate(request) called by hand
            user = getattr(request, "user", None) if self.per_user else None
            identity = self.rules.identity_before(request, user, viewrules.current())
            text = self.rules.key_text(request, identity)
        return "v:" + text

    def _begin(
        self,
        request: HttpRequest,
        user: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        snapshot: Snapshot,
    ) -> _Call:
        call = _Call(self.rules.identity_before(request, user, snapshot))
        text = self.rules.key_text(request, call.identity)
        token = _current_key.set(text)
        try:
            call.store, call.key, call.gkeys = self.engine._begin((request, *args), kwargs)
        finally:
            _current_key.reset(token)
        return call

    def _decide(
        self, call: _Call, request: HttpRequest, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        if call.store is not None:
            call.decision = self.engine._decide(
                call.store, call.key, call.gkeys, (request, *args), kwargs
            )
        call.failed = call.store is None or call.decision is _UNCACHED
        if call.decision.compute and request.method == "HEAD":
            call.decision = Decision(True, locked=call.decision.locked)  # never store a HEAD

    def _content(self, call: _Call, request: HttpRequest, response: Any, user: Any) -> Stored:
        """What to store of ``response``, or raise ``_NotStored``."""
        if request.method != "GET":
            raise _NotStored(response)
        if viewrules.unsafe_response(request, response, self.rules.vary):
            raise _NotStored(response)
        after = viewrules.identity_after(request, call.identity, user)
        if viewrules.identity_changed(call.identity, after, per_user=self.per_user):
            raise _NotStored(response)
        session = getattr(request, "session", None)
        if not self.per_user and session is not None and session.modified:
            raise _NotStored(response)
        return (response.content, response.status_code, list(response.items()))

    def _finish(self, call: _Call, content: Stored | None, spent: float) -> None:
        """Store ``content`` (None: release the lock only). Runs off the event loop if async."""
        if call.store is None:
            return
        if content is None:
            if call.decision.locked:
                release = Decision(True, locked=call.decision.locked)
                self.engine._store(call.store, call.key, call.gkeys, release, None, 0.0)
            return
        miss = call.decision.state == "miss"
        self.engine._store(call.store, call.key, call.gkeys, call.decision, content, spent, miss)

    # -- sync ----------------------------------------------------------------------------------
    def _wrapper(self) -> Callable[..., Any]:
        view = self.view
        rules = self.rules

        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            snapshot = viewrules.current()
            if rules.bypass(request, snapshot):
                return view(request, *args, **kwargs)
            user = getattr(request, "user", None) if self.per_user else None
            call = self._begin(request, user, args, kwargs, snapshot)
            self._decide(call, request, args, kwargs)
            if not call.decision.compute:
                return _rebuild(call.decision.value, call.decision.state, snapshot)
            started = time.perf_counter()
            try:
                response = view(request, *args, **kwargs)
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    response.render()
                content = self._content(call, request, response, viewrules.evaluated_user(request))
            except _NotStored as passed:
                self._finish(call, None, 0.0)
                return passed.response
            except BaseException:
                self._finish(call, None, 0.0)
                raise
            self._finish(call, content, time.perf_counter() - started)
            return _rebuild(content, "error" if call.failed else "miss", snapshot)

        wrapped.perfkit_cached = self.engine  # type: ignore[attr-defined]
        return wrapped

    # -- async ---------------------------------------------------------------------------------
    def _async_wrapper(self) -> Callable[..., Any]:
        view = self.view
        rules = self.rules

        @functools.wraps(view)
        async def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            snapshot = viewrules.current()
            if rules.bypass(request, snapshot):
                return await view(request, *args, **kwargs)
            user = await _auser(request) if self.per_user else None
            call = self._begin(request, user, args, kwargs, snapshot)
            if call.store is not None:
                await _off_loop(call.store, self._decide, call, request, args, kwargs)
            else:
                self._decide(call, request, args, kwargs)
            if not call.decision.compute:
                return _rebuild(call.decision.value, call.decision.state, snapshot)
            started = time.perf_counter()
            try:
                response = await view(request, *args, **kwargs)
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    await sync_to_async(response.render, thread_sensitive=True)()
                after = viewrules.evaluated_user(request)
                if after is None and self.per_user:
                    after = await _auser(request)
                content = self._content(call, request, response, after)
            except _NotStored as passed:
                await self._afinish(call, None, 0.0)
                return passed.response
            except BaseException:
                await self._afinish(call, None, 0.0)
                raise
            await self._afinish(call, content, time.perf_counter() - started)
            return _rebuild(content, "error" if call.failed else "miss", snapshot)

        markcoroutinefunction(wrapped)
        wrapped.perfkit_cached = self.engine  # type: ignore[attr-defined]
        return wrapped

    async def _afinish(self, call: _Call, content: Stored | None, spent: float) -> None:
        if call.store is not None:
            await _off_loop(call.store, self._finish, call, content, spent)


async def _auser(request: HttpRequest) -> Any:
    user = viewrules.evaluated_user(request)
    if user is None and hasattr(request, "auser"):
        user = await request.auser()
    return user


def _rebuild(stored: Stored, state: str, snapshot: Snapshot) -> HttpResponse:
    content, status, headers = stored
    # the stored headers hold the Content-Type: HttpResponse then computes no default one
    response = HttpResponse(content, status=status, headers=dict(headers))
    if snapshot.header:
        response["X-Perfkit-Cache"] = state
    return response


class CachedViewMixin:
    """Class-based views: ``class BookList(CachedViewMixin, ListView): cache_timeout = 60``."""

    cache_timeout: float | None = _DEFAULT  # type: ignore[assignment]
    cache_depends_on: Any = ()
    cache_per_user = False
    cache_vary_on: tuple[str, ...] = ()
    cache_query: tuple[str, ...] | None = None
    cache_alias: str | None = None
    cache_stale: float | None = None

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        view = super().as_view(**initkwargs)  # type: ignore[misc]
        return cached_view(
            cls.cache_timeout,
            depends_on=cls.cache_depends_on,
            per_user=cls.cache_per_user,
            vary_on=cls.cache_vary_on,
            query=cls.cache_query,
            cache=cls.cache_alias,
            stale=cls.cache_stale,
        )(view)
