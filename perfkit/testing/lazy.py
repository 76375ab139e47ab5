"""``no_lazy_loads()``: forbid lazy loading of related objects inside a block.

On Django 6.1+ every QuerySet created inside the block gets the ``FETCH_RAISE`` fetch mode, so a
lazy load raises Django's own ``FieldFetchBlocked`` naming the model and field.  On older Django
there is no hook for that; the block falls back to N+1 detection (``assert_no_nplusone``) on
exit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import models
from django.db.models.query import QuerySet

from perfkit.testing.assertions import assert_no_nplusone
from perfkit.testing.block import CheckBlock

__all__ = ["NoLazyLoads", "native_fetch_modes", "no_lazy_loads"]


def native_fetch_modes() -> bool:
    """True when Django has fetch modes (6.1+): ``models.FETCH_RAISE``, ``QuerySet.fetch_mode``."""
    return hasattr(models, "FETCH_RAISE") and hasattr(QuerySet, "fetch_mode")


class NoLazyLoads(CheckBlock):
    """The block of ``no_lazy_loads()``; ``native`` tells which mechanism is in use."""

    def __init__(
        self, threshold: int | None, allow: Iterable[str], using: str | Sequence[str] | None
    ) -> None:
        self.native = native_fetch_modes()
        self._fallback = assert_no_nplusone(threshold, allow=allow, using=using)
        self._original_init: Any = None

    def open(self) -> NoLazyLoads:
        if self.native:
            original = self._original_init = QuerySet.__init__
            raise_mode = models.FETCH_RAISE  # type: ignore[attr-defined]

            def __init__(qs: QuerySet[Any], *args: Any, **kwargs: Any) -> None:
                original(qs, *args, **kwargs)
                qs._fetch_mode = raise_mode  # type: ignore[attr-defined]

            QuerySet.__init__ = __init__  # type: ignore[method-assign]
        else:
            self._fallback.open()
        return self

    def close(self) -> None:
        if self.native:
            QuerySet.__init__ = self._original_init  # type: ignore[method-assign]
        else:
            self._fallback.close()

    def check(self) -> None:
        __tracebackhide__ = True
        if not self.native:
            self._fallback.check()


def no_lazy_loads(
    *,
    threshold: int | None = None,
    allow: Iterable[str] = (),
    using: str | Sequence[str] | None = None,
) -> NoLazyLoads:
    """Forbid lazy loads in the block: Django 6.1's FETCH_RAISE mode, else N+1 detection."""
    return NoLazyLoads(threshold, allow, using)
