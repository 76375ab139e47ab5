"""Dependency targets in canonical form: primary keys, field values, tracked fields.

The read side (``depends_on``) and the write side (the ORM hooks) must name a row with the
same string, whatever Python value each was given: ``5`` and ``"5"``, a ``UUID`` and its
``hex.upper()``, an instance and its pk.  Both go through the model field's ``to_python``.

Field-scoped dependencies, ``(Review, {"product": 5})``, name the rows of ``Review`` whose
``product`` is 5.  A write can bump them only if the writing process knows the field matters,
so fields are declared once with :func:`track_fields` in a module every process imports (the
models module): an undeclared field in ``depends_on`` is an error, never a silent stale entry.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Field, Model

from perfkit.cache.keys import _Unkeyable, encode
from perfkit.exceptions import ImproperlyConfiguredError

__all__ = ["canonical_pk", "canonical_value", "field_of", "track_fields", "tracked_fields"]

# concrete model -> {field name: field} declared with track_fields()
_tracked: dict[type[Model], dict[str, Field[Any, Any]]] = {}


def _python(field: Any, value: Any) -> Any:
    if isinstance(value, Model):  # a ForeignKey may point at another column than the pk
        target = getattr(field, "target_field", None)
        value = getattr(value, target.attname) if field.is_relation and target else value.pk
    try:
        return field.to_python(value)
    except (ValidationError, TypeError, ValueError):
        return value  # no row can have it: any stable form will do


def canonical_pk(model: type[Model], value: Any) -> str:
    """The string that names row ``value`` of ``model`` in generation keys."""
    return str(_python(model._meta.pk, value))


def canonical_value(field: Any, value: Any) -> str:
    """The string that names ``value`` of ``field`` (a tracked field) in generation keys."""
    value = _python(field, value)
    try:
        return encode(value)
    except _Unkeyable:
        return repr(value)


def field_of(model: type[Model], name: str, where: str) -> Any:
    """The concrete field ``name`` (or its attname, ``product_id``) of ``model``."""
    field: Any
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        field = next((f for f in model._meta.concrete_fields if f.attname == name), None)
        if field is None:
            raise ImproperlyConfiguredError(
                f"{where}: {model._meta.label} has no field {name!r}."
            ) from None
    if not getattr(field, "concrete", False) or field.many_to_many:
        raise ImproperlyConfiguredError(
            f"{where}: {model._meta.label}.{name} is not a column; a field dependency names a "
            f"concrete field (a ForeignKey, a CharField...), not a reverse or many-to-many "
            f"relation."
        )
    return field


def track_fields(model: type[Model], *names: str) -> None:
    """Let writes to ``model`` bump field-scoped dependencies on ``names``.

    Call it in the models module (every process that writes must run it), e.g.
    ``track_fields(Review, "product")``, then depend on ``(Review, {"product": pk})``.  Each
    UPDATE or DELETE of a tracked model reads the old values of its tracked fields first (one
    SELECT of at most 101 rows); other models pay nothing.
    """
    if not (isinstance(model, type) and issubclass(model, Model)):
        raise ImproperlyConfiguredError(f"track_fields(): {model!r} is not a model class.")
    if not names:
        raise ImproperlyConfiguredError("track_fields(): name at least one field.")
    concrete = model._meta.concrete_model or model
    fields = _tracked.setdefault(concrete, {})
    for name in names:
        field = field_of(model, name, "track_fields()")
        fields[field.name] = field


def tracked_fields(model: type[Model]) -> dict[str, Any]:
    """``{name: field}`` of the tracked fields of ``model``'s table (empty when none)."""
    return _tracked.get(model._meta.concrete_model or model, {})


def field_targets(model: type[Model], values: dict[str, Any], where: str) -> list[tuple[str, str]]:
    """``[(field name, canonical value)]`` of a ``(Model, {field: value})`` dependency."""
    if not values:
        raise ImproperlyConfiguredError(
            f"{where}: ({model._meta.label}, {{}}) names no field; use the model itself."
        )
    tracked = tracked_fields(model)
    found = []
    for name, value in values.items():
        field = field_of(model, name, where)
        if field.name not in tracked:
            raise ImproperlyConfiguredError(
                f"{where}: {model._meta.label}.{field.name} is not tracked. Call "
                f'perfkit.cache.track_fields({model.__name__}, "{field.name}") in your models '
                f"module, so every process that writes {model.__name__} bumps it."
            )
        found.append((field.name, canonical_value(field, value)))
    return found
