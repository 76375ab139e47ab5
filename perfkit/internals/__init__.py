"""Every touch of another library's private API lives in this package (see each submodule).

``install()``/``uninstall()`` call each submodule's own, in ``_SUBMODULES`` order.
"""

from __future__ import annotations

import importlib

__all__ = ["install", "installed", "uninstall"]

_SUBMODULES: tuple[str, ...] = ("caches",)
_installed = [False]


def install() -> None:
    """Install every submodule's patches (idempotent)."""
    if _installed[0]:
        return
    for name in _SUBMODULES:
        importlib.import_module(f"perfkit.internals.{name}").install()
    _installed[0] = True


def uninstall() -> None:
    """Restore every original (idempotent)."""
    if not _installed[0]:
        return
    for name in reversed(_SUBMODULES):
        importlib.import_module(f"perfkit.internals.{name}").uninstall()
    _installed[0] = False


def installed() -> bool:
    return _installed[0]
