"""``django.utils.functional``: a ``LazyObject``'s ``_wrapped`` and the ``empty`` sentinel.

``cached_view`` asks whether ``request.user`` is already known without evaluating it (which
would run a query, and for a view that resolves the user itself, too early).
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import LazyObject, empty

__all__ = ["install", "lazy_value", "uninstall"]


def install() -> None:
    """Nothing to patch."""


def uninstall() -> None:
    """Nothing to restore."""


def lazy_value(obj: LazyObject[Any]) -> Any:
    """What ``obj`` wraps once evaluated; None while it is not (nothing is evaluated here)."""
    wrapped = obj._wrapped  # type: ignore[attr-defined]
    return None if wrapped is empty else wrapped
