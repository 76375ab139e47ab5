"""``no_lazy_loads()``: forbid lazy loading of related objects inside a block.

On Django 6.1+ every QuerySet created inside the block gets the ``FETCH_RAISE`` fetch mode, so a
lazy load raises Django's own ``FieldFetchBlocked`` naming the model and field.  On older Django
there is no hook for that; the block falls back to N+1 detection (``assert_no_nplusone``) on
exit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from perfkit.internals import capture as lazy_loads
from perfkit.internals.capture import native_fetch_modes
from perfkit.testing.assertions import assert_no_nplusone
from perfkit.testing.block import CheckBlock

__all__ = ["NoLazyLoads", "native_fetch_modes", "no_lazy_loads"]


class NoLazyLoads(CheckBlock):
    """The block of ``no_lazy_loads()``; ``native`` tells which mechanism is in use."""

    def __init__(
        self, threshold: int | None, allow: Iterable[str], using: str | Sequence[str] | None
    ) -> None:
        self.native = native_fetch_modes()
        self._fallback = assert_no_nplusone(threshold, allow=allow, using=using)

    def open(self) -> NoLazyLoads:
        if self.native:
            lazy_loads.raise_on_lazy_loads()
        else:
            self._fallback.open()
        return self

    def close(self) -> None:
        if self.native:
            lazy_loads.stop_raising_on_lazy_loads()
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
