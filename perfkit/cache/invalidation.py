"""ORM writes -> generation bumps, and ``invalidate(*targets)``.

The hooks sit where every ORM write passes: the SQL compilers for INSERT, UPDATE and DELETE
(so ``save``, ``QuerySet.update/delete``, ``bulk_create``, ``bulk_update``, cascades and
``get_or_create``/``update_or_create`` are all seen) plus ``m2m_changed`` for both sides of a
many-to-many change.  A write whose primary keys are known (a ``save``, a ``pk__in`` batch,
an insert with RETURNING) bumps the row generations and the model generation; any other write
bumps the model and its ``*`` generation.  One write costs one ``set_many`` per cache alias,
however many entries depend on it.  Raw SQL through a Django cursor is seen by rawsql.py.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.db import router
from django.db.models import Model
from django.db.models.expressions import Col
from django.db.models.signals import m2m_changed
from django.db.models.sql import compiler
from django.db.models.sql.where import AND

from perfkit.cache import generations, rawsql
from perfkit.conf import perfkit_settings
from perfkit.exceptions import ImproperlyConfiguredError

__all__ = ["install", "invalidate"]

logger = logging.getLogger("perfkit.cache")
_MAX_ROW_KEYS = 100  # a bigger batch bumps the model's "*" generation instead of each row
_m2m = threading.local()  # depth of m2m_changed spans: their through-table writes are covered
_installed: list[bool] = []


def _where_values(query: Any) -> tuple[Any, list[Any]] | None:
    """``(field, values)`` when the WHERE is one ``field = x`` / ``field IN (...)``, else None."""
    where = query.where
    if where.connector != AND or where.negated or len(where.children) != 1:
        return None
    lookup = where.children[0]
    lhs = getattr(lookup, "lhs", None)
    if not isinstance(lhs, Col):
        return None
    if lhs.target.model._meta.concrete_model is not query.model._meta.concrete_model:
        return None
    rhs = lookup.rhs
    if lookup.lookup_name == "exact" and not hasattr(rhs, "resolve_expression"):
        values = [rhs]
    elif (
        lookup.lookup_name == "in"
        and isinstance(rhs, (list, tuple, set, frozenset))
        and not any(hasattr(v, "resolve_expression") for v in rhs)
    ):
        values = list(rhs)
    else:
        return None
    return lhs.target, [getattr(v, "pk", v) for v in values]


def _where_pks(query: Any) -> list[Any] | None:
    """The primary keys a ``pk = x`` / ``pk IN (...)`` WHERE names, else None."""
    found = _where_values(query)
    return found[1] if found is not None and found[0].primary_key else None


def _through_write(model: type[Model], query: Any, rows: list[Any] | None, using: str) -> None:
    # an m2m through table: its writes change both ends; rows (inserts) or the WHERE (deletes
    # by one end, as cascades do) tell which rows of the ends
    known = _where_values(query) if rows is None else None
    keys = generations.write_keys(model, None)
    targets = [generations.label(model)]
    for field in model._meta.concrete_fields:
        if not (field.is_relation and field.related_model is not None):
            continue
        pks: list[Any] | None = None
        if rows is not None:
            pks = sorted({getattr(obj, field.attname) for obj in rows}, key=str)
        elif known is not None and known[0] is field:
            pks = known[1]
        if pks is not None and len(pks) > _MAX_ROW_KEYS:
            pks = None
        keys += generations.write_keys(field.related_model, pks)
        targets.append(generations.label(field.related_model))
    generations.bump(keys, targets=targets, using=using)


def _written(
    model: type[Model], pks: list[Any] | None, using: str, query: Any = None, objs: Any = None
) -> None:
    if not perfkit_settings.INVALIDATION:
        return
    if model._meta.auto_created:
        if not getattr(_m2m, "depth", 0):  # inside m2m_changed the signal covers it
            _through_write(model, query, objs, using)
        return
    if pks is not None and len(pks) > _MAX_ROW_KEYS:
        pks = None
    name = generations.label(model)
    targets = [name] if pks is None else [f"{name}:{pk}" for pk in pks]
    generations.bump(generations.write_keys(model, pks), targets=targets, using=using)


def _safely(
    model: type[Model], pks: list[Any] | None, using: str, query: Any = None, objs: Any = None
) -> None:
    try:
        _written(model, pks, using, query, objs)
    except Exception:  # invalidation must never break the write itself
        logger.exception("perfkit.cache: invalidation after a write to %s failed", model)


def _insert_pks(self: Any, rows: Any, returning_fields: Any) -> list[Any] | None:
    pk = self.query.get_meta().pk
    pks = [getattr(obj, pk.attname, None) for obj in self.query.objs]
    if None not in pks:
        return pks
    if rows and returning_fields:
        index = next((i for i, f in enumerate(returning_fields) if f.primary_key), None)
        if index is not None and len(rows) == len(pks):
            return [row[index] for row in rows]
    return None


def install() -> None:
    """Wrap the SQL compilers and connect ``m2m_changed`` (once; apps.ready calls it)."""
    if _installed:
        return
    _installed.append(True)
    insert_sql = compiler.SQLInsertCompiler.execute_sql
    update_sql = compiler.SQLUpdateCompiler.execute_sql
    delete_sql = compiler.SQLDeleteCompiler.execute_sql

    def execute_insert(self: Any, returning_fields: Any = None) -> Any:
        rows = rawsql.orm_call(insert_sql, self, returning_fields)
        try:
            pks = _insert_pks(self, rows, returning_fields)
        except Exception:
            pks = None
        _safely(self.query.model, pks, self.using, self.query, self.query.objs)
        return rows

    def execute_update(self: Any, result_type: Any) -> Any:
        result = rawsql.orm_call(update_sql, self, result_type)
        _safely(self.query.model, _where_pks(self.query), self.using, self.query)
        return result

    def execute_delete(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = rawsql.orm_call(delete_sql, self, *args, **kwargs)
        _safely(self.query.model, _where_pks(self.query), self.using, self.query)
        return result

    compiler.SQLInsertCompiler.execute_sql = execute_insert  # type: ignore[method-assign]
    compiler.SQLUpdateCompiler.execute_sql = execute_update  # type: ignore[method-assign]
    compiler.SQLDeleteCompiler.execute_sql = execute_delete  # type: ignore[method-assign]
    m2m_changed.connect(_m2m_changed, dispatch_uid="perfkit.cache.m2m")
    rawsql.install()


def _m2m_changed(
    sender: Any, instance: Any, action: str, model: Any, pk_set: Any, using: str, **kwargs: Any
) -> None:
    if action.startswith("pre_"):
        _m2m.depth = getattr(_m2m, "depth", 0) + 1
        return
    _m2m.depth = max(getattr(_m2m, "depth", 0) - 1, 0)
    if not perfkit_settings.INVALIDATION:
        return
    try:
        pks = None if pk_set is None or len(pk_set) > _MAX_ROW_KEYS else sorted(pk_set, key=str)
        keys = generations.write_keys(type(instance), [instance.pk])
        keys += generations.write_keys(model, pks)
        keys += generations.write_keys(sender, None)
        targets = [f"{generations.label(type(instance))}:{instance.pk}", generations.label(model)]
        generations.bump(keys, targets=targets, using=using)
    except Exception:
        logger.exception("perfkit.cache: invalidation after an m2m change of %r failed", instance)


def invalidate(*targets: Any) -> None:
    """Invalidate everything that depends on ``targets`` now.

    A target is a model (every entry depending on it or its rows), an instance or a
    ``(Model, pk)`` pair (that row), ``"app_label.Model"``, or a cached function (all its
    entries).  Use it after raw SQL, which perfkit does not see.
    """
    keys: list[str] = []
    labels: list[str] = []
    databases: set[str] = set()
    prefix = perfkit_settings.KEY_PREFIX
    for target in targets:
        name = getattr(target, "perfkit_name", None)
        if name is None and hasattr(target, "wrapper"):
            name = target.wrapper.perfkit_name
        if isinstance(name, str):
            keys.append(f"{prefix}:f:{name}")
            labels.append(name)
            continue
        if isinstance(target, Model) or (isinstance(target, tuple) and len(target) == 2):
            model, pk = (type(target), target.pk) if isinstance(target, Model) else target
            model = generations.model_of(model, "invalidate()")
            if pk is None:
                raise ImproperlyConfiguredError(
                    f"invalidate(): {target!r} is unsaved (no pk); invalidate its model instead."
                )
            keys += generations.write_keys(model, [pk])
            labels.append(f"{generations.label(model)}:{pk}")
        else:
            model = generations.model_of(target, "invalidate()")
            keys += generations.write_keys(model, None)
            labels.append(generations.label(model))
        databases.add(router.db_for_write(model))
    if not keys and targets:
        raise ImproperlyConfiguredError(f"invalidate(): nothing to invalidate in {targets!r}.")
    # inside a transaction (raw SQL in it, say) bump again at commit, like an ORM write
    using = databases.pop() if len(databases) == 1 else None
    generations.bump(keys, targets=labels, using=using)


install()
