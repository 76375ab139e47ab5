"""django-perfkit: make Django sites fast and keep them fast.

Public names live in the subpackages (``perfkit.cache``, ``perfkit.backends``,
``perfkit.warming``, ``perfkit.testing``); importing ``perfkit`` itself loads nothing heavy.
"""

from __future__ import annotations

__version__ = "0.1.0.dev0"
__all__ = ["__version__"]
