"""What one ORM write touched: rows, related rows, tracked field values.

- **Inheritance**: a parent and its multi-table children share rows (same pk), so a write to
  one bumps the generations of the whole chain (ancestors and descendants; proxies share their
  concrete model's keys already).
- **Through models**: a write to a many-to-many through table (auto-created or an explicit
  ``through=``) changes the relation, so it bumps the rows of both ends it links.
- **Watched columns**: the ends of a through table and the fields given to ``track_fields``.
  Their values come from the inserted objects, the WHERE (``book_id = 1 AND tag_id IN (2, 3)``)
  or, when the WHERE does not tell, from one SELECT of at most 101 rows run just before the
  UPDATE/DELETE (``m2m.clear()``, a cascade, a ``save()`` of a tracked model).  Models without
  watched columns never pay that SELECT.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.db.models import Model, QuerySet
from django.db.models.expressions import Col
from django.db.models.sql import Query
from django.db.models.sql.where import AND, WhereNode

from perfkit.cache import targets

__all__ = ["MAX_ROWS", "family", "read_before", "through_ends", "watched", "where_values"]

MAX_ROWS = 100  # a bigger batch bumps the model's "*" generation instead of each row


@functools.cache
def family(model: type[Model]) -> tuple[type[Model], ...]:
    """The concrete models sharing ``model``'s rows: itself, its ancestors, its descendants."""
    concrete = model._meta.concrete_model or model
    found = {concrete, *(p._meta.concrete_model or p for p in concrete._meta.get_parent_list())}
    for other in apps.get_models():
        if concrete in other._meta.get_parent_list():
            found.add(other._meta.concrete_model or other)
    found.discard(concrete)
    return (concrete, *sorted(found, key=lambda m: m._meta.label_lower))


@functools.cache
def _all_through_ends() -> dict[type[Model], tuple[Any, ...]]:
    ends: dict[type[Model], list[Any]] = {}
    for model in apps.get_models():
        for m2m in model._meta.local_many_to_many:
            through = m2m.remote_field.through
            if not isinstance(through, type):
                continue
            known = ends.setdefault(through, [])
            for name in (m2m.m2m_field_name(), m2m.m2m_reverse_field_name()):
                field = through._meta.get_field(name)
                if field not in known:
                    known.append(field)
    return {through: tuple(fields) for through, fields in ends.items()}


def through_ends(model: type[Model]) -> tuple[Any, ...]:
    """The foreign keys of a through table that name the ends of its relation (else empty)."""
    return _all_through_ends().get(model._meta.concrete_model or model, ())


def watched(model: type[Model]) -> tuple[Any, ...]:
    """The columns whose values a write to ``model`` must know: through ends, tracked fields."""
    ends = through_ends(model)
    tracked = targets.tracked_fields(model)
    if not tracked:
        return ends
    return ends + tuple(f for f in tracked.values() if f not in ends)


def where_values(query: Any) -> dict[Any, list[Any]]:
    """``{field: values}`` for the ``field = x`` / ``field IN (...)`` terms ANDed at the top of
    the WHERE on the query's own table: every written row has one of those values."""
    found: dict[Any, list[Any]] = {}
    concrete = query.model._meta.concrete_model
    _collect(query.where, concrete, found)
    return found


def _collect(node: Any, concrete: Any, found: dict[Any, list[Any]]) -> None:
    if not isinstance(node, WhereNode) or node.connector != AND or node.negated:
        return
    for child in node.children:
        if isinstance(child, WhereNode):
            _collect(child, concrete, found)
            continue
        lhs = getattr(child, "lhs", None)
        if not isinstance(lhs, Col) or lhs.target.model._meta.concrete_model is not concrete:
            continue
        rhs = getattr(child, "rhs", None)
        name = getattr(child, "lookup_name", None)
        if name == "exact" and not hasattr(rhs, "resolve_expression"):
            values = [rhs]
        elif (
            name == "in"
            and isinstance(rhs, (list, tuple, set, frozenset))
            and not any(hasattr(v, "resolve_expression") for v in rhs)
        ):
            values = list(rhs)
        else:
            continue
        values = [getattr(v, "pk", v) for v in values]
        if lhs.target in found:  # two terms on one column: the rows satisfy both
            values = [v for v in values if v in found[lhs.target]]
        found[lhs.target] = values


def read_before(query: Any, using: str, columns: Iterable[Any]) -> list[tuple[Any, ...]] | None:
    """``(pk, *columns)`` of the rows an UPDATE/DELETE is about to write (None: over 100)."""
    model = query.model
    names = [model._meta.pk.attname, *(field.attname for field in columns)]
    select = query.chain(Query)
    rows = list(
        QuerySet(model=model, query=select, using=using).values_list(*names)[: MAX_ROWS + 1]
    )
    return None if len(rows) > MAX_ROWS else rows
