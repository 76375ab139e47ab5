"""Every use of another library's private API lives here (see each submodule).

``install()`` applies the patches (``PerfkitConfig.ready()`` calls it), ``uninstall()`` restores
the originals exactly; both are idempotent.
"""

from __future__ import annotations

import importlib

__all__ = ["install", "installed", "uninstall"]

_SUBMODULES: tuple[str, ...] = ("redis",)
_state: list[bool] = []


def install() -> None:
    """Install every submodule's patches (once)."""
    if _state:
        return
    for name in _SUBMODULES:
        importlib.import_module(f"perfkit.internals.{name}").install()
    _state.append(True)


def uninstall() -> None:
    """Restore every original, in reverse order."""
    for name in reversed(_SUBMODULES):
        importlib.import_module(f"perfkit.internals.{name}").uninstall()
    _state.clear()


def installed() -> bool:
    return bool(_state)
