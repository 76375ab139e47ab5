"""ORM writes -> generation bumps, and ``invalidate(*targets)``.

perfkit.internals.orm wraps the SQL compilers for INSERT, UPDATE and DELETE, so every ORM
write calls :func:`prepare` (UPDATE/DELETE, before it runs) and :func:`written` (after):
``save``, ``QuerySet.update/delete``, ``bulk_create``, ``bulk_update``, cascades,
``get_or_create``/``update_or_create`` and the through-table writes of many-to-many changes
are all seen.  A write whose rows are known (a ``save``, a ``pk__in`` batch, an insert with
RETURNING, a through table's ends) bumps those rows and the model; any other write bumps the
model and its ``*`` generation.  Multi-table parents and children share their generations;
through tables bump the rows they link (see relations.py).  One write costs one ``set_many``
per cache alias, however many entries depend on it.  Raw SQL through a Django
cursor is seen by rawsql.py.
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from typing import Any

from django.db import router
from django.db.models import Model

from perfkit.cache import generations, rawsql, relations, targets
from perfkit.cache.databases import OnDatabase
from perfkit.cache.targets import canonical_pk, canonical_value, field_targets, track_fields
from perfkit.conf import perfkit_settings
from perfkit.exceptions import ImproperlyConfiguredError
from perfkit.internals import orm

__all__ = ["failures", "invalidate", "orm_call", "prepare", "track_fields", "written"]

# the compiler hooks (perfkit.internals.orm) run the ORM statement through this, so the raw
# SQL wrapper leaves it alone
orm_call = rawsql.orm_call

logger = logging.getLogger("perfkit.cache")
# hook failures by stage ("prepare", "written"): logged each time, counted for tests/monitoring
failures: Counter[str] = Counter()


class _Touched:
    """The rows, related rows and tracked values one write touched."""

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self.pks: set[str] | None = set()
        self.values: dict[Any, set[str] | None] = {f: set() for f in relations.watched(model)}

    def add_pks(self, pks: Any) -> None:
        if self.pks is not None and pks is not None:
            self.pks.update(canonical_pk(self.model, pk) for pk in pks)
        else:
            self.pks = None

    def add_values(self, field: Any, values: Any) -> None:
        known = self.values.get(field, set())
        if values is not None and any(hasattr(v, "resolve_expression") for v in values):
            values = None  # F(), Now()...: the database computes the value
        if known is None or values is None:
            self.values[field] = None
            return
        if field in relations.through_ends(self.model):
            related = field.related_model
            if not field.target_field.primary_key:  # a to_field end: rows not named by pk
                self.values[field] = None
                return
            known.update(canonical_pk(related, v) for v in values if v is not None)
        else:
            known.update(canonical_value(field, v) for v in values)
        self.values[field] = known

    def bump(self, using: str) -> None:
        keys: list[str] = []
        labels: list[str] = []
        pks = _limit(self.pks)
        for model in relations.family(self.model):
            keys += generations.write_keys(model, pks)
            name = generations.label(model)
            labels += [name] if pks is None else [f"{name}:{pk}" for pk in pks]
        star = generations.base_of(self.model) + ":*"
        for field, values in self.values.items():
            if field in relations.through_ends(self.model):
                related = _limit(values)
                for model in relations.family(field.related_model):
                    keys += generations.write_keys(model, related)
                    labels.append(generations.label(model))
            elif values is None or len(values) > relations.MAX_ROWS:
                keys.append(star)
            else:
                keys += [generations.field_key(self.model, field.name, v) for v in sorted(values)]
        generations.bump(list(dict.fromkeys(keys)), targets=labels, using=using)


def _limit(pks: set[str] | None) -> list[str] | None:
    if pks is None or len(pks) > relations.MAX_ROWS:
        return None
    return sorted(pks)


def prepare(kind: str, query: Any, using: str) -> Any:
    """Before an UPDATE/DELETE: read what the WHERE does not tell about watched columns."""
    if not perfkit_settings.INVALIDATION:
        return None
    try:
        columns = relations.watched(query.model)
        if not columns:
            return None
        known = relations.where_values(query)
        needed = list(columns)
        if targets.tracked_fields(query.model):  # "*" would drop every field-scoped entry
            needed.append(query.model._meta.pk)
        if all(field in known for field in needed):  # old values: the WHERE names them
            return None
        return ("rows", relations.read_before(query, using, columns), columns)
    except Exception:  # invalidation must never break the write itself
        failures["prepare"] += 1
        logger.exception(
            "perfkit.cache: reading the rows of %s before the %s failed", query.model, kind
        )
        return None


def written(
    kind: str,
    query: Any,
    using: str,
    before: Any,
    rows: Any = None,
    returning: Any = None,
) -> None:
    """After an INSERT/UPDATE/DELETE: bump the generations of everything it touched."""
    if not perfkit_settings.INVALIDATION:
        return
    try:
        _touched(kind, query, before, rows, returning).bump(using)
    except Exception:  # invalidation must never break the write itself
        failures["written"] += 1
        logger.exception("perfkit.cache: invalidation after a write to %s failed", query.model)


def _touched(kind: str, query: Any, before: Any, rows: Any, returning: Any) -> _Touched:
    touched = _Touched(query.model)
    if kind == "insert":
        touched.add_pks(_insert_pks(query, rows, returning))
        for field in touched.values:
            touched.add_values(field, [getattr(obj, field.attname) for obj in query.objs])
        return touched
    known = relations.where_values(query)
    if before is not None:
        _, found, columns = before
        if found is None:  # over 100 rows
            touched.add_pks(None)
            for field in columns:
                touched.add_values(field, None)
        else:
            touched.add_pks([row[0] for row in found])
            for index, field in enumerate(columns, 1):
                touched.add_values(field, [row[index] for row in found])
    else:
        pk = query.model._meta.pk
        touched.add_pks(known.get(pk))
        for field in touched.values:
            touched.add_values(field, known.get(field))
    if kind == "update":  # the new values of watched columns
        for field, _model, value in query.values:
            if field in touched.values:
                computed = hasattr(value, "resolve_expression")
                touched.add_values(field, None if computed else [getattr(value, "pk", value)])
    return touched


def _insert_pks(query: Any, rows: Any, returning: Any) -> list[Any] | None:
    pk = query.get_meta().pk
    pks = [getattr(obj, pk.attname, None) for obj in query.objs]
    if None not in pks:
        return pks
    if rows and returning:
        index = next((i for i, f in enumerate(returning) if f.primary_key), None)
        if index is not None and len(rows) == len(pks):
            return [row[index] for row in rows]
    return None


def invalidate(*targets: Any) -> None:
    """Invalidate everything that depends on ``targets`` now.

    A target is a model (every entry depending on it or its rows), an instance or a
    ``(Model, pk)`` pair (that row), a ``(Model, {"field": value})`` field target (the entries
    depending on it), ``"app_label.Model"``, a cached function (all its entries), or
    ``on_database(alias, *targets)`` (those targets as written on database ``alias``: with
    ``GENERATIONS_PER_DATABASE`` only the entries computed from it).  Use it after raw SQL,
    which perfkit does not see.
    """
    if not targets:
        return
    plain = [target for target in targets if not isinstance(target, OnDatabase)]
    for target in targets:
        if isinstance(target, OnDatabase):
            keys, labels, _ = _collect(target.targets)
            generations.bump(keys, targets=labels, using=target.alias)
    if plain:
        keys, labels, databases = _collect(plain)
        # inside a transaction (raw SQL in it, say) bump again at commit, like an ORM write
        using = databases.pop() if len(databases) == 1 else None
        generations.bump(keys, targets=labels, using=using)


def _collect(targets: Any) -> tuple[list[str], list[str], set[str]]:
    """The generation keys ``invalidate(*targets)`` bumps, their labels, their databases."""
    keys: list[str] = []
    labels: list[str] = []
    databases: set[str] = set()
    prefix = perfkit_settings.KEY_PREFIX
    for target in targets:
        if isinstance(target, OnDatabase):
            raise ImproperlyConfiguredError(
                f"invalidate(): {target!r} nests on_database(); name each database once."
            )
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
            if isinstance(pk, dict):  # (Review, {"product": 5})
                for name, value in field_targets(model, pk, "invalidate()"):
                    keys.append(generations.field_key(model, name, value))
                    labels.append(f"{generations.label(model)}.{name}={value}")
                databases.add(router.db_for_write(model))
                continue
            if pk is None:
                raise ImproperlyConfiguredError(
                    f"invalidate(): {target!r} is unsaved (no pk); invalidate its model instead."
                )
            pks: list[str] | None = [canonical_pk(model, pk)]
        else:
            model = generations.model_of(target, "invalidate()")
            pks = None
        for member in relations.family(model):
            keys += generations.write_keys(member, pks)
            name = generations.label(member)
            labels.append(name if pks is None else f"{name}:{pks[0]}")
        databases.add(router.db_for_write(model))
    if not keys:
        raise ImproperlyConfiguredError(f"invalidate(): nothing to invalidate in {targets!r}.")
    return keys, labels, databases


orm.connect(sys.modules[__name__])  # the compiler wrappers report every ORM write here
