"""``@cached_view`` for function views, and ``CachedViewMixin`` for class-based views.

Safety first: only GET/HEAD responses with status 200 are stored, never one that sets a
cookie (a CSRF cookie included), is ``Cache-Control: private/no-store/no-cache``, varies on a
header not in ``vary_on``, or was rendered for a request carrying a session cookie or an
``Authorization`` header, unless ``per_user=True`` (then the key includes the user).  HEAD
requests are served from a cached GET but never stored.  In DEBUG (with
``PERFKIT["VIEW_CACHE_HEADER"]``) responses carry ``X-Perfkit-Cache: hit|miss|stale``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from perfkit.cache.catalog import registry
from perfkit.cache.decorators import CachedFunction
from perfkit.cache.keys import digest
from perfkit.cache.wrapper import _DEFAULT, _UNCACHED, Decision
from perfkit.conf import perfkit_settings

__all__ = ["CachedViewMixin", "cached_view"]

_UNSAFE_CACHE_CONTROL = ("private", "no-store", "no-cache")


class _NotStored(Exception):
    """Carries a response that must not be cached out of the cached computation."""

    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def _anonymous(request: HttpRequest) -> bool:
    return settings.SESSION_COOKIE_NAME not in request.COOKIES and (
        "HTTP_AUTHORIZATION" not in request.META
    )


def _user_part(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"u{user.pk}"
    session = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    return "s" + digest(session) if session else "anon"


def _storable(request: HttpRequest, response: HttpResponse, vary_on: set[str], per_user: bool):
    if response.status_code != 200 or getattr(response, "streaming", False):
        return False
    if response.cookies or request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
        return False
    if request.META.get("CSRF_COOKIE_USED"):
        return False
    control = response.get("Cache-Control", "").lower()
    if any(word in control for word in _UNSAFE_CACHE_CONTROL):
        return False
    if response.has_header("Vary"):
        # split by hand: django.utils.cache.cc_delim_re is gone in Django 6.1
        varies = {h.strip().lower() for h in response["Vary"].split(",") if h.strip()}
        if "*" in varies or not varies <= vary_on:
            return False
    if not per_user:
        session = getattr(request, "session", None)
        if session is not None and session.modified:
            return False
        user = getattr(request, "user", None)
        evaluated = getattr(user, "_wrapped", user)  # a SimpleLazyObject not yet evaluated
        if evaluated is not None and getattr(evaluated, "is_authenticated", False) is True:
            return False
    return True


def cached_view(
    timeout: float | None = _DEFAULT,  # type: ignore[assignment]
    *,
    depends_on: Any = (),
    per_user: bool = False,
    vary_on: Iterable[str] = (),
    cache: str | None = None,
    stale: float | None = None,
) -> Callable[[Any], Any]:
    """Cache a view's 200 GET responses; ``depends_on`` callables get ``(request, ...)``."""
    vary = {h.lower() for h in vary_on}

    def decorate(view: Any) -> Any:
        if isinstance(view, type):
            attrs = {
                "cache_timeout": timeout,
                "cache_depends_on": depends_on,
                "cache_per_user": per_user,
                "cache_vary_on": tuple(vary_on),
                "cache_alias": cache,
                "cache_stale": stale,
            }
            return type(view.__name__, (CachedViewMixin, view), attrs)

        def response_key(request: HttpRequest, *args: Any, **kwargs: Any) -> str:
            parts = [request.get_host(), request.path, sorted(request.GET.lists())]
            parts += [request.META.get("HTTP_" + h.upper().replace("-", "_"), "") for h in vary]
            if per_user:
                parts.append(_user_part(request))
            return f"v:{engine.perfkit_name}:{digest(repr(parts))}"

        def render(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
            if request.method != "GET" or not _storable(request, response, vary, per_user):
                raise _NotStored(response)
            return (response.content, response.status_code, list(response.items()))

        functools.update_wrapper(render, view)
        # class-based views: as_view()'s inner function has the same qualname for every class
        owner = getattr(view, "view_class", None)
        if owner is not None:
            render.__module__, render.__qualname__ = owner.__module__, owner.__qualname__
        engine = CachedFunction.__new__(CachedFunction)
        engine._setup(render, timeout=timeout, key=response_key, depends_on=depends_on,
                      cache=cache, stale=stale, lock=True, early_refresh=True, cache_none=False,
                      version=None)  # fmt: skip
        registry[engine.perfkit_name] = engine

        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if request.method not in ("GET", "HEAD") or not (per_user or _anonymous(request)):
                return view(request, *args, **kwargs)
            store, key, gkeys = engine._begin((request, *args), kwargs)
            decision = (
                engine._decide(store, key, gkeys, (request, *args), kwargs)
                if store
                else (Decision(True))
            )
            if not decision.compute:
                return _rebuild(decision.value, decision.state)
            failed = store is None or decision is _UNCACHED  # the cache is down: not a miss
            if request.method == "HEAD":
                decision = Decision(True, locked=decision.locked)  # never store a HEAD
            started = time.perf_counter()
            try:
                content = render(request, *args, **kwargs)
            except _NotStored as passed:
                if decision.locked and store is not None:
                    engine._store(store, key, gkeys, Decision(True, locked=True), None, 0.0)
                return passed.response
            except BaseException:
                if decision.locked and store is not None:
                    engine._store(store, key, gkeys, Decision(True, locked=True), None, 0.0)
                raise
            if store is not None:
                spent = time.perf_counter() - started
                engine._store(
                    store, key, gkeys, decision, content, spent, decision.state == "miss"
                )
            return _rebuild(content, "error" if failed else "miss")

        wrapped.perfkit_cached = engine  # type: ignore[attr-defined]
        return wrapped

    return decorate


def _rebuild(stored: tuple[bytes, int, list[tuple[str, str]]], state: str) -> HttpResponse:
    content, status, headers = stored
    response = HttpResponse(content, status=status)
    for name, value in headers:
        response[name] = value
    if settings.DEBUG and perfkit_settings.VIEW_CACHE_HEADER:
        response["X-Perfkit-Cache"] = state
    return response


class CachedViewMixin:
    """Class-based views: ``class BookList(CachedViewMixin, ListView): cache_timeout = 60``."""

    cache_timeout: float | None = _DEFAULT  # type: ignore[assignment]
    cache_depends_on: Any = ()
    cache_per_user = False
    cache_vary_on: tuple[str, ...] = ()
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
            cache=cls.cache_alias,
            stale=cls.cache_stale,
        )(view)
