"""Cache warming with Celery: warmers, priorities, progress, schedules, refresh-ahead.

``warmer`` and ``registry`` need no Celery; ``warm``, ``configure_celery`` and
``beat_schedule`` import it on first use.
"""

from __future__ import annotations

from typing import Any

from perfkit.warming.registry import Warmer, registry, warmer

__all__ = ["Warmer", "beat_schedule", "configure_celery", "registry", "warm", "warmer"]

_LAZY = {
    "warm": "perfkit.warming.enqueue",
    "configure_celery": "perfkit.warming.celery",
    "beat_schedule": "perfkit.warming.beat",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'perfkit.warming' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
