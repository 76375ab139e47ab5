"""Deploy system checks of the cache backends: ``manage.py check --deploy`` (ids E201-E206).

They are the findings of ``perfkit_doctor``.  All are deploy-only: the probes do network I/O, the
table check would fail ``migrate`` before ``createcachetable`` ran, and the warnings are about
production setups (a local Redis without a password is fine on a laptop).
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Tags, Warning, register

from perfkit.backends.doctor import diagnose

__all__ = ["check_backends"]


@register(Tags.caches, "perfkit", deploy=True)
def check_backends(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Probe every cache alias and Celery; report the configuration risks."""
    messages: list[CheckMessage] = []
    for finding in diagnose().findings:
        level = Error if finding.level == "error" else Warning
        messages.append(level(finding.message, hint=finding.hint, id=finding.id))
    return messages
