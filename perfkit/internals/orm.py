"""django.db internals perfkit relies on: the SQL compilers' ``execute_sql``, ``_from_testcase``.

Every ORM write runs one of three compilers (INSERT, UPDATE, DELETE), so wrapping their
``execute_sql`` sees ``save``, ``QuerySet.update/delete``, ``bulk_*``, cascades and m2m
through-table writes alike.  The wrappers call the public hooks of
``perfkit.cache.invalidation`` (``prepare`` before an UPDATE/DELETE, ``written`` after any
write); a hook never breaks the write (it logs and counts its own failures).

Version notes (Django 5.2 / 6.0 / 6.1):

- ``SQLInsertCompiler.execute_sql(returning_fields=None)`` stores the fields it asked back in
  ``self.returning_fields`` in every supported version; the wrapper takes any arguments and
  reads that attribute, so a signature change does not break it.
- ``SQLUpdateCompiler.execute_returning_sql(returning_fields)`` exists from Django 6.0 (``save()``
  refreshing generated fields / ``db_default`` with ``UPDATE ... RETURNING``) and does not always
  go through ``execute_sql``: it is wrapped too where it exists.
- ``SQLDeleteCompiler`` inherits ``execute_sql``: uninstall removes the wrapper instead of
  setting the inherited function on the subclass.

A compiler method gone raises ``perfkit.internals.MissingInternalError`` at install.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models.sql import compiler

from perfkit.internals import missing

__all__ = [
    "connect",
    "install",
    "installed",
    "testcase_block",
    "uninstall",
]

# (class, attribute) -> the class's own attribute before install (None: it was inherited)
_originals: dict[tuple[type, str], Any] = {}


def testcase_block(atomic: Any) -> bool:
    """True for an atomic block a ``TestCase`` opened (Django marks it ``_from_testcase``)."""
    return bool(getattr(atomic, "_from_testcase", False))


# what the wrapped compilers report to: perfkit.cache.invalidation connects itself when it is
# imported (``connect``), so this module never imports perfkit.cache (imports flow one way)
_connected: list[Any] = []


def connect(hooks: Any) -> None:
    """Report writes to ``hooks`` (``prepare``, ``written`` and ``orm_call`` functions)."""
    _connected[:] = [hooks]


def _hooks() -> Any:
    return _connected[0] if _connected else None


def _wrap_insert(original: Callable[..., Any]) -> Callable[..., Any]:
    def execute_sql(self: Any, *args: Any, **kwargs: Any) -> Any:
        hooks = _hooks()
        if hooks is None:
            return original(self, *args, **kwargs)
        rows = hooks.orm_call(original, self, *args, **kwargs)
        returning = getattr(self, "returning_fields", None)
        hooks.written("insert", self.query, self.using, None, rows, returning)
        return rows

    return execute_sql


def _wrap_change(kind: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def execute_sql(self: Any, *args: Any, **kwargs: Any) -> Any:
        hooks = _hooks()
        if hooks is None:
            return original(self, *args, **kwargs)
        before = hooks.prepare(kind, self.query, self.using)
        result = hooks.orm_call(original, self, *args, **kwargs)
        hooks.written(kind, self.query, self.using, before)
        return result

    return execute_sql


def _wrap_returning_update(original: Callable[..., Any]) -> Callable[..., Any]:
    # Django >= 6.0: falls back to execute_sql (which reports itself) when the backend cannot
    # return rows; report here only when it ran its own UPDATE ... RETURNING
    def execute_returning_sql(self: Any, returning_fields: Any, *args: Any, **kwargs: Any) -> Any:
        hooks = _hooks()
        if hooks is None or not (
            returning_fields and self.connection.features.can_return_rows_from_update
        ):
            return original(self, returning_fields, *args, **kwargs)
        before = hooks.prepare("update", self.query, self.using)
        rows = hooks.orm_call(original, self, returning_fields, *args, **kwargs)
        hooks.written("update", self.query, self.using, before)
        return rows

    return execute_returning_sql


def _patch(cls: type, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    current = getattr(cls, name, None)
    if current is None:
        # not avoidable by a setting: install() wraps the compilers whatever PERFKIT says
        raise missing("django", f"{cls.__name__}.{name}", "perfkit's ORM invalidation")
    _originals[(cls, name)] = cls.__dict__.get(name)
    setattr(cls, name, make(current))


def install() -> None:
    """Wrap the INSERT/UPDATE/DELETE compilers (idempotent)."""
    if _originals:
        return
    _patch(compiler.SQLInsertCompiler, "execute_sql", _wrap_insert)
    _patch(compiler.SQLUpdateCompiler, "execute_sql", lambda f: _wrap_change("update", f))
    _patch(compiler.SQLDeleteCompiler, "execute_sql", lambda f: _wrap_change("delete", f))
    # Django >= 6.0: UPDATE ... RETURNING for save() (see the module docstring); probed rather
    # than version-checked, so a backport or a later rename degrades to execute_sql alone
    if hasattr(compiler.SQLUpdateCompiler, "execute_returning_sql"):
        _patch(compiler.SQLUpdateCompiler, "execute_returning_sql", _wrap_returning_update)


def uninstall() -> None:
    """Put back exactly what ``install()`` replaced."""
    for (cls, name), original in reversed(list(_originals.items())):
        if original is None:
            delattr(cls, name)
        else:
            setattr(cls, name, original)
    _originals.clear()


def installed() -> bool:
    return bool(_originals)
