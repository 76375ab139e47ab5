"""Which model relation a query loads (``bookstore.Author.books``), read off the stack.

A lazy load runs inside Django's related descriptors or on a QuerySet a related manager made,
so the frames between the query and the user's code say which relation it is:

- ``book.author`` / ``profile.user``: ``ForwardManyToOneDescriptor.__get__`` (its ``field``);
- ``user.profile``: ``ReverseOneToOneDescriptor.__get__`` (its ``related``);
- ``author.books.all()`` / ``.count()``: the QuerySet of the reverse manager remembers the
  foreign key in ``_known_related_objects``;
- ``book.tags.all()``: the QuerySet of a many-to-many manager carries the instance as a hint;
  the relation is the many-to-many of that instance's model that leads to the QuerySet's model.

Labels are ``app_label.Model.accessor``, the form allow-lists match (``fnmatch``).
"""

from __future__ import annotations

import os
from types import FrameType
from typing import Any

from django.db.models import ForeignObjectRel
from django.db.models.query import QuerySet

from perfkit.internals import querysets

__all__ = ["DESCRIPTORS_FILE", "QUERY_FILE", "relation_of"]

DESCRIPTORS_FILE = os.path.join("django", "db", "models", "fields", "related_descriptors.py")
QUERY_FILE = os.path.join("django", "db", "models", "query.py")


def relation_of(frame: FrameType, filename: str) -> str | None:
    """The relation a frame of ``related_descriptors.py`` or ``query.py`` is loading."""
    owner = frame.f_locals.get("self")
    if owner is None:
        return None
    if filename.endswith(DESCRIPTORS_FILE):
        return _descriptor(owner)
    if isinstance(owner, QuerySet):
        return _queryset(owner)
    return None


def _label(model: Any, name: str) -> str:
    return f"{model._meta.label}.{name}"


def _descriptor(descriptor: Any) -> str | None:
    related = getattr(descriptor, "related", None)
    if related is not None and hasattr(related, "get_accessor_name"):  # reverse one-to-one
        return _label(related.model, related.get_accessor_name())
    field = getattr(descriptor, "field", None)
    if field is not None and hasattr(descriptor, "get_object"):  # forward FK / one-to-one
        return _label(field.model, field.name)
    return None


def _queryset(queryset: QuerySet[Any]) -> str | None:
    known = querysets.known_related_fields(queryset)
    if known:  # the reverse side of a foreign key: author.books
        field = known[0]
        rel = field.remote_field
        return _label(rel.model, rel.get_accessor_name())
    instance = querysets.instance_hint(queryset)
    if instance is None:
        return None
    names = [
        str(f.get_accessor_name() if isinstance(f, ForeignObjectRel) else f.name)
        for f in type(instance)._meta.get_fields()
        if f.many_to_many and f.related_model is queryset.model
    ]
    return _label(type(instance), names[0]) if len(names) == 1 else None
