"""Every touch of another library's private API (Django, redis-py, django-redis, Celery).

Code elsewhere in perfkit calls the small accessor and activation functions of the submodules
and never names a private attribute itself (``tests/test_internals_boundary.py`` checks it).
``install()`` applies the patches, called from ``PerfkitConfig.ready()`` (never at import time);
``uninstall()`` puts every original back exactly.  Both are idempotent.

Version gates live in the submodules, next to the internal they guard: each branches on the
library version with a comment where the internal differs across the supported versions, and
raises ``MissingInternalError`` (naming the library version and the perfkit feature) when it is
gone.  ``tests/internals/`` asserts the shape of every internal, so an upgrade that changes one
fails there first.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from perfkit.exceptions import PerfkitError

__all__ = ["MissingInternalError", "install", "installed", "missing", "uninstall"]

# installed in this order, uninstalled in the reverse one; a submodule added here exposes
# install() and uninstall()
_SUBMODULES: tuple[str, ...] = (
    "capture",
    "orm",
    "redis",
    "caches",
    "cachestate",
    "lazy",
    "querysets",
)

_state: list[bool] = []


class MissingInternalError(PerfkitError, RuntimeError):
    """A private API perfkit relies on is missing in the installed version of a library."""


def missing(library: str, internal: str, feature: str) -> MissingInternalError:
    """The error for ``internal`` of ``library`` gone in its installed version."""
    try:
        version = importlib.import_module(library).__version__
    except (ImportError, AttributeError):
        version = "?"
    return MissingInternalError(
        f"{feature} needs {internal}, which {library} {version} does not have; use a "
        f"{library} version perfkit supports (see the README) or report it to django-perfkit."
    )


def _submodule(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{name}")


def install() -> None:
    """Apply every submodule's patches, in ``_SUBMODULES`` order (once)."""
    if _state:
        return
    for name in _SUBMODULES:
        _submodule(name).install()
    _state.append(True)


def uninstall() -> None:
    """Put every original back, in reverse order (also what a submodule installed on demand)."""
    for name in reversed(_SUBMODULES):
        _submodule(name).uninstall()
    _state.clear()


def installed() -> bool:
    """Whether ``install()`` ran (and no ``uninstall()`` since)."""
    return bool(_state)
