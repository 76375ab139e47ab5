"""``QuerySet`` internals the N+1 report reads to name the relation a query loads.

- ``QuerySet._known_related_objects``: set by a reverse foreign-key manager (``author.books``),
  keyed by the foreign key field.
- ``QuerySet._hints["instance"]``: the instance a related manager belongs to (many-to-many).
"""

from __future__ import annotations

from typing import Any

__all__ = ["install", "instance_hint", "known_related_fields", "uninstall"]


def install() -> None:
    """Nothing to patch."""


def uninstall() -> None:
    """Nothing to restore."""


def known_related_fields(queryset: Any) -> list[Any]:
    """The foreign key fields whose related objects ``queryset`` already knows (maybe none)."""
    return list(getattr(queryset, "_known_related_objects", None) or ())


def instance_hint(queryset: Any) -> Any:
    """The instance whose related manager made ``queryset``, or None."""
    return (getattr(queryset, "_hints", None) or {}).get("instance")
