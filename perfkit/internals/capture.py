"""Django internals behind query capture and ``no_lazy_loads()``.

- ``BaseDatabaseWrapper._prepare_cursor``: every cursor passes through it, so a connection
  created or first used in another thread while a capture is active gets the capture
  dispatcher there.  ``install()`` wraps it once (from ``PerfkitConfig.ready()``); the wrapper
  calls the hooks added with ``add_cursor_hook()`` and costs one list test when there are none.
  Same signature ``(self, cursor)`` in Django 5.2, 6.0 and 6.1.
- ``QuerySet._fetch_mode`` (Django 6.1+): ``raise_on_lazy_loads()`` sets ``FETCH_RAISE`` on
  every QuerySet created until ``stop_raising_on_lazy_loads()``, by wrapping
  ``QuerySet.__init__`` for that time only: a permanent wrapper would tax every QuerySet clone
  of the application for a test helper.  Django 5.2 and 6.0 have no fetch modes
  (``native_fetch_modes()`` is False there and ``no_lazy_loads()`` falls back to N+1 detection).

``uninstall()`` puts both originals back, even inside an open ``no_lazy_loads()`` block.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.query import QuerySet

from perfkit.internals import missing

__all__ = [
    "add_cursor_hook",
    "install",
    "installed",
    "native_fetch_modes",
    "raise_on_lazy_loads",
    "remove_cursor_hook",
    "stop_raising_on_lazy_loads",
    "uninstall",
]

CursorHook = Callable[[BaseDatabaseWrapper], None]

_lock = threading.RLock()
_cursor_hooks: list[CursorHook] = []
# what BaseDatabaseWrapper._prepare_cursor was before install() (None: not installed)
_original_prepare_cursor: Any = None
_our_prepare_cursor: Any = None
_raise_depth = 0
_original_queryset_init: Any = None


def install() -> None:
    """Wrap ``BaseDatabaseWrapper._prepare_cursor`` (once)."""
    global _original_prepare_cursor, _our_prepare_cursor
    with _lock:
        if _original_prepare_cursor is not None:
            return
        original = getattr(BaseDatabaseWrapper, "_prepare_cursor", None)
        if not callable(original):
            raise missing("django", "BaseDatabaseWrapper._prepare_cursor", "capture_queries()")

        def _prepare_cursor(self: BaseDatabaseWrapper, cursor: Any) -> Any:
            if _cursor_hooks:
                for hook in tuple(_cursor_hooks):
                    hook(self)
            return original(self, cursor)

        _original_prepare_cursor = original
        _our_prepare_cursor = _prepare_cursor
        BaseDatabaseWrapper._prepare_cursor = _prepare_cursor  # type: ignore[attr-defined]


def uninstall() -> None:
    """Put ``_prepare_cursor`` and ``QuerySet.__init__`` back as they were."""
    global _original_prepare_cursor, _our_prepare_cursor, _raise_depth
    with _lock:
        if _raise_depth:
            _raise_depth = 1
            stop_raising_on_lazy_loads()
        if _original_prepare_cursor is None:
            return
        # another tool may have wrapped ours since: then its wrapper stays, ours goes inert
        if BaseDatabaseWrapper.__dict__.get("_prepare_cursor") is _our_prepare_cursor:
            BaseDatabaseWrapper._prepare_cursor = _original_prepare_cursor  # type: ignore[attr-defined]
        _original_prepare_cursor = _our_prepare_cursor = None


def installed() -> bool:
    """Whether ``_prepare_cursor`` is wrapped."""
    return _original_prepare_cursor is not None


def add_cursor_hook(hook: CursorHook) -> None:
    """Call ``hook(connection)`` whenever a connection prepares a cursor.

    Installs the wrapper when ``PerfkitConfig.ready()`` did not (perfkit used without being in
    ``INSTALLED_APPS``, e.g. only its pytest plugin).
    """
    install()
    with _lock:
        if hook not in _cursor_hooks:
            _cursor_hooks.append(hook)


def remove_cursor_hook(hook: CursorHook) -> None:
    with _lock:
        if hook in _cursor_hooks:
            _cursor_hooks.remove(hook)


def native_fetch_modes() -> bool:
    """True when Django has fetch modes (6.1+): ``models.FETCH_RAISE``, ``QuerySet.fetch_mode``."""
    return hasattr(models, "FETCH_RAISE") and hasattr(QuerySet, "fetch_mode")


def raise_on_lazy_loads() -> None:
    """From now on every new QuerySet raises on a lazy load (Django 6.1+); nests."""
    global _raise_depth, _original_queryset_init
    if not native_fetch_modes():
        raise missing("django", "models.FETCH_RAISE (Django 6.1+)", "no_lazy_loads()")
    with _lock:
        _raise_depth += 1
        if _raise_depth > 1:
            return
        original = _original_queryset_init = QuerySet.__init__
        raise_mode = models.FETCH_RAISE  # type: ignore[attr-defined]

        def __init__(qs: QuerySet[Any], *args: Any, **kwargs: Any) -> None:
            original(qs, *args, **kwargs)
            qs._fetch_mode = raise_mode  # type: ignore[attr-defined]

        QuerySet.__init__ = __init__  # type: ignore[assignment]


def stop_raising_on_lazy_loads() -> None:
    """Undo one ``raise_on_lazy_loads()``; the last one puts ``QuerySet.__init__`` back."""
    global _raise_depth, _original_queryset_init
    with _lock:
        if not _raise_depth:
            return
        _raise_depth -= 1
        if _raise_depth:
            return
        QuerySet.__init__ = _original_queryset_init  # type: ignore[method-assign]
        _original_queryset_init = None
