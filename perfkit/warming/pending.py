"""Celery apps waiting for Django: ``configure_celery`` called before perfkit's AppConfig is ready.

A project's ``celery.py`` is usually imported from the project package's ``__init__``, that is
while the settings module itself loads.  ``configure_celery`` parks such an app here and
``perfkit.warming.startup`` configures it once perfkit's AppConfig is ready.  Imports nothing.
"""

from __future__ import annotations

from typing import Any

__all__ = ["apps", "is_ready", "mark_ready"]

apps: list[Any] = []
_state = {"ready": False}


def is_ready() -> bool:
    """True once perfkit's AppConfig is ready."""
    return _state["ready"]


def mark_ready() -> None:
    _state["ready"] = True
