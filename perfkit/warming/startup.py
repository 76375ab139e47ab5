"""What perfkit.warming does when Django is ready (imported by ``PerfkitConfig.ready``).

Registers the warming checks and applies ``configure_celery`` to apps that asked for it before
Django's settings and app registry were ready (see perfkit/warming/pending.py).  The top of
perfkit.warming: nothing in it imports this module.
"""

from __future__ import annotations

from perfkit.warming import checks, pending

__all__ = ["ready"]

# imported for its @register side effect: perfkit.E301 / W301
_CHECKS = checks


def ready() -> None:
    """Configure the Celery apps that were waiting for Django."""
    pending.mark_ready()
    while pending.apps:
        from perfkit.warming.celery import configure_celery

        configure_celery(pending.apps.pop(0))


ready()
