"""Raw SQL writes -> generation bumps (``PERFKIT["TRACK_RAW_SQL"]``, on by default).

Every Django database connection gets an execute wrapper (``connection.execute_wrapper``, the
public API, installed through the ``connection_created`` signal).  After a statement that
starts with INSERT, UPDATE, DELETE, REPLACE, TRUNCATE or WITH runs, the wrapper finds the
tables it writes and bumps the models stored in them (``db_table``, auto-created m2m through
tables included) as a write with unknown rows: the model and its ``*`` generation.  Statements
the ORM runs are skipped (its compiler hooks already bumped them, row-precisely): the hooks run
the compiler inside ``orm_call``, which sets a context variable.

Cheap on purpose: every other statement costs a slice of its first 32 characters and a
``startswith``; a write statement one regular expression pass.  Unknown tables (the database
cache's own table, tables of no model) are ignored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.apps import apps
from django.db import connections
from django.db.backends.signals import connection_created
from django.db.models import Model

from perfkit.cache import generations
from perfkit.conf import perfkit_settings

__all__ = ["install", "orm_call", "tables_written"]

logger = logging.getLogger("perfkit.cache")
_orm: ContextVar[bool] = ContextVar("perfkit_orm_write", default=False)
_HEADS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "TRUNCATE", "WITH")
_NAME = r"""(?:"[^"]+"|`[^`]+`|\[[^\]]+\]|[\w$]+)"""
_TABLE = rf"((?:{_NAME}\s*\.\s*)*{_NAME})"
_WRITE = re.compile(
    r"\b(?:"
    rf"INSERT\s+(?:(?:IGNORE|LOW_PRIORITY|DELAYED|HIGH_PRIORITY)\s+)*(?:OR\s+\w+\s+)?INTO\s+{_TABLE}"
    rf"|REPLACE\s+(?:(?:LOW_PRIORITY|DELAYED)\s+)?(?:INTO\s+)?{_TABLE}"
    rf"|UPDATE\s+(?:(?:ONLY|LOW_PRIORITY|IGNORE)\s+|OR\s+\w+\s+)*{_TABLE}"
    rf"|DELETE\s+(?:(?:LOW_PRIORITY|QUICK|IGNORE)\s+)*FROM\s+(?:ONLY\s+)?{_TABLE}"
    rf"|TRUNCATE\s+(?:TABLE\s+)?(?:ONLY\s+)?({_TABLE}(?:\s*,\s*{_TABLE})*)"
    r")",
    re.IGNORECASE,
)
_SPLIT = re.compile(rf"{_TABLE}")
_tables: dict[str, list[type[Model]]] = {}


def orm_call(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``func(*args)`` marked as an ORM write: the raw SQL wrapper leaves its statements alone."""
    token = _orm.set(True)
    try:
        return func(*args, **kwargs)
    finally:
        _orm.reset(token)


def _unquote(name: str) -> str:
    last = re.split(r"\s*\.\s*", name.strip())[-1]
    return last.strip('"`[]').lower()


def tables_written(sql: str) -> set[str]:
    """The (lower-case, unqualified) names of the tables a write statement writes."""
    found: set[str] = set()
    for match in _WRITE.finditer(sql):
        groups = [g for g in match.groups() if g]
        if not groups:
            continue
        if match.group(0).lstrip()[:8].upper().startswith("TRUNCATE"):
            found.update(_unquote(m.group(1)) for m in _SPLIT.finditer(groups[0]))
            found.discard("table")
            found.discard("only")
        else:
            found.add(_unquote(groups[0]))
    return found


def _models(table: str) -> list[type[Model]]:
    if not _tables:
        for model in apps.get_models(include_auto_created=True):
            if model._meta.proxy:
                continue
            _tables.setdefault(model._meta.db_table.lower(), []).append(model)
    return _tables.get(table, [])


def _bump_tables(sql: str, using: str) -> None:
    keys: list[str] = []
    targets: list[str] = []
    for table in sorted(tables_written(sql)):
        for model in _models(table):
            keys += generations.write_keys(model, None)
            targets.append(generations.label(model))
            if model._meta.auto_created:  # an m2m through table: both ends changed
                for field in model._meta.concrete_fields:
                    if field.is_relation and field.related_model is not None:
                        keys += generations.write_keys(field.related_model, None)
                        targets.append(generations.label(field.related_model))
    if keys:
        generations.bump(keys, targets=targets, using=using)


def _wrapper(execute: Any, sql: Any, params: Any, many: bool, context: dict[str, Any]) -> Any:
    result = execute(sql, params, many, context)
    if (
        type(sql) is str
        and sql[:32].lstrip()[:8].upper().startswith(_HEADS)
        and not _orm.get()
        and perfkit_settings.TRACK_RAW_SQL
        and perfkit_settings.INVALIDATION
    ):
        try:
            _bump_tables(sql, context["connection"].alias)
        except Exception:  # invalidation must never break the write itself
            logger.exception("perfkit.cache: invalidation after raw SQL failed: %.200s", sql)
    return result


def _install_on(connection: Any) -> None:
    if _wrapper not in connection.execute_wrappers:
        # first in the list: ``execute_wrapper()`` blocks pop the last one they pushed
        connection.execute_wrappers.insert(0, _wrapper)


def _on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    _install_on(connection)


def install() -> None:
    """Wrap every database connection, now and when one is created (idempotent)."""
    connection_created.connect(_on_connection_created, dispatch_uid="perfkit.cache.rawsql")
    # iterating ``connections`` reads (and caches) settings.DATABASES: not before anything
    # else did, since this may run while the settings module is still being imported
    if "settings" in vars(connections):
        for connection in connections.all(initialized_only=True):
            _install_on(connection)
