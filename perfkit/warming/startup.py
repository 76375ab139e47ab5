"""What perfkit.warming does when Django is ready (imported by ``PerfkitConfig.ready``).

Registers the warming checks and applies ``configure_celery`` to apps that asked for it before
Django's settings and app registry were ready: a project's ``celery.py`` is usually imported
from the project package's ``__init__``, that is while the settings module itself loads.
"""

from __future__ import annotations

from typing import Any

from perfkit.warming import checks  # noqa: F401  (registers perfkit.E301 / W301)

__all__ = ["pending_apps", "ready"]

pending_apps: list[Any] = []
_state = {"ready": False}


def is_ready() -> bool:
    return _state["ready"]


def ready() -> None:
    """Configure the Celery apps that were waiting for Django."""
    _state["ready"] = True
    while pending_apps:
        from perfkit.warming.celery import configure_celery

        configure_celery(pending_apps.pop(0))


ready()
