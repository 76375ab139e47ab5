"""Where a query or cache call came from: the first stack frame in the user's own code.

Frames of Django, perfkit, asgiref, the standard library and installed packages (pytest,
pluggy, ...) are skipped.  The verdict per file name is cached, so a lookup costs a few dict
reads per frame.  When the call passes through a Django template, the template name and line
are put in front: ``books/list.html:7 / shop/views.py:40 in book_list``.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from types import FrameType
from typing import NamedTuple

import django

import perfkit
from perfkit.instrument.relations import DESCRIPTORS_FILE, QUERY_FILE, relation_of

__all__ = ["Origin", "caller_location", "caller_origin", "short_path"]


def _prefixes() -> tuple[str, ...]:
    paths = {
        os.path.dirname(django.__file__),
        os.path.dirname(perfkit.__file__),
        os.path.dirname(os.__file__),  # the standard library
    }
    for key in ("stdlib", "platstdlib", "purelib", "platlib", "scripts"):
        path = sysconfig.get_paths().get(key)
        if path:
            paths.add(path)
    return tuple(os.path.realpath(p) + os.sep for p in paths) + tuple(p + os.sep for p in paths)


_INTERNAL_PREFIXES = _prefixes()
_internal: dict[str, bool] = {}
_short: dict[str, str] = {}
_TEMPLATE_BASE = os.path.join("django", "template", "base.py")


def _is_internal(filename: str) -> bool:
    verdict = _internal.get(filename)
    if verdict is None:
        verdict = filename.startswith(_INTERNAL_PREFIXES) or filename.startswith("<")
        _internal[filename] = verdict
    return verdict


# the directory the process started in (the project root under pytest and manage.py); fixed,
# so a location costs no getcwd() call and stays the same when a test changes directory
_ROOT = os.getcwd() + os.sep


def short_path(filename: str) -> str:
    """``filename`` relative to the starting directory when it lies below it."""
    short = _short.get(filename)
    if short is None:
        short = filename[len(_ROOT) :] if filename.startswith(_ROOT) else filename
        _short[filename] = short
    return short


def _template_of(frame: FrameType) -> str | None:
    node = frame.f_locals.get("self")
    origin = getattr(node, "origin", None)
    token = getattr(node, "token", None)
    if origin is None or token is None:
        return None
    name = getattr(origin, "template_name", None) or getattr(origin, "name", "?")
    return f"{name}:{getattr(token, 'lineno', '?')}"


def caller_location(skip: int = 1) -> str | None:
    """``path:line in function`` of the first frame outside Django, perfkit and libraries."""
    frame: FrameType | None = sys._getframe(skip + 1)
    template = None
    while frame is not None:
        code = frame.f_code
        filename = code.co_filename
        if not _is_internal(filename):
            where = f"{short_path(filename)}:{frame.f_lineno} in {code.co_name}"
            return f"{template} / {where}" if template else where
        if (
            template is None
            and code.co_name == "render_annotated"
            and filename.endswith(_TEMPLATE_BASE)
        ):
            template = _template_of(frame)
        frame = frame.f_back
    return template


_CONNECT_FILE = os.path.join("django", "db", "backends", "base", "base.py")
# between the user's frames: Django (the test client, handlers, templates), perfkit, asgiref
_CROSSABLE = (
    os.path.dirname(django.__file__ or "") + os.sep,
    os.path.dirname(perfkit.__file__ or "") + os.sep,
    "<",
)
_crossable_cache: dict[str, bool] = {}


def _crossable(filename: str) -> bool:
    verdict = _crossable_cache.get(filename)
    if verdict is None:
        verdict = filename.startswith(_CROSSABLE) or f"{os.sep}asgiref{os.sep}" in filename
        _crossable_cache[filename] = verdict
    return verdict


# the QuerySet methods a query runs under: only their frames are asked for the QuerySet
# (reading a frame's locals costs more than the rest of the walk)
_RUNS = frozenset({"_fetch_all", "count", "exists", "aggregate", "contains"})

_ENTRY_SCRIPT = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""


class Origin(NamedTuple):
    """Where a query came from, read off the whole stack in one walk."""

    location: str | None  # the innermost user frame (with the template in front)
    callers: tuple[str, ...]  # the user frames that called it: the next one and the outermost
    relation: str | None  # the model relation being loaded: "app_label.Model.accessor"
    setup: bool  # run while a connection sets itself up (inside BaseDatabaseWrapper.connect)


def _where(frame: FrameType) -> str:
    return f"{short_path(frame.f_code.co_filename)}:{frame.f_lineno} in {frame.f_code.co_name}"


def caller_origin(skip: int = 1) -> Origin:
    """The innermost user frame, its callers, the relation loaded, and whether the query runs
    while a connection is being set up (Django #28203: not the user's query)."""
    frame: FrameType | None = sys._getframe(skip + 1)
    template = location = None
    # the caller right after the location and the outermost one, formatted only at the end
    first: FrameType | None = None
    last: FrameType | None = None
    described = queried = None
    setup = False
    while frame is not None:
        code = frame.f_code
        filename = code.co_filename
        internal = _is_internal(filename)
        if not internal:
            if location is None:
                where = f"{short_path(filename)}:{frame.f_lineno} in {code.co_name}"
                location = f"{template} / {where}" if template else where
            elif filename != _ENTRY_SCRIPT:  # manage.py's main(): not a caller worth naming
                if first is None:
                    first = frame
                else:
                    last = frame
        elif location is None:
            if filename.endswith(DESCRIPTORS_FILE):
                described = described or relation_of(frame, filename)
            elif queried is None and code.co_name in _RUNS and filename.endswith(QUERY_FILE):
                queried = relation_of(frame, filename)
            elif (
                template is None
                and code.co_name == "render_annotated"
                and filename.endswith(_TEMPLATE_BASE)
            ):
                template = _template_of(frame)
        if code.co_name == "connect" and filename.endswith(_CONNECT_FILE):
            setup = True
        elif location is not None and internal and not _crossable(filename):
            break  # the test runner (pytest, unittest) or the server: no callers beyond
        frame = frame.f_back
    callers = tuple(_where(f) for f in (first, last) if f is not None)
    return Origin(location or template, callers, described or queried, setup)
