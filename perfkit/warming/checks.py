"""System checks of perfkit.warming (ids perfkit.E3xx / W3xx).

Imports no Celery: the broker check runs only when the project has already loaded Celery.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.checks import CheckMessage, Error, Tags, Warning, register

from perfkit.conf import perfkit_settings

__all__ = ["check_time_limits", "check_visibility_timeout", "visibility_messages"]

REDIS_DEFAULT_VISIBILITY_TIMEOUT = 3600


@register(Tags.compatibility, "perfkit")
def check_time_limits(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """perfkit.E301: the soft time limit must come before the hard one."""
    soft = perfkit_settings.WARMING_SOFT_TIME_LIMIT
    hard = perfkit_settings.WARMING_TIME_LIMIT
    if not isinstance(soft, int | float) or not isinstance(hard, int | float) or soft < hard:
        return []
    return [
        Error(
            f"PERFKIT['WARMING_SOFT_TIME_LIMIT'] ({soft!r}) must be lower than "
            f"PERFKIT['WARMING_TIME_LIMIT'] ({hard!r}): the hard limit would kill a warming "
            "chunk before the soft limit lets it stop cleanly and report what it did.",
            hint=f"Set WARMING_SOFT_TIME_LIMIT to about 80% of the hard limit ({hard * 0.8:g}).",
            id="perfkit.E301",
        )
    ]


def visibility_messages(app: Any) -> list[CheckMessage]:
    """perfkit.W301 for ``app``: Redis would redeliver a perfkit task that is still running."""
    from perfkit.warming.broker import broker_driver

    url = app.conf.broker_write_url or app.conf.broker_url or ""
    if not url or broker_driver(url) != "redis":
        return []
    options = app.conf.broker_transport_options or {}
    timeout = options.get("visibility_timeout", REDIS_DEFAULT_VISIBILITY_TIMEOUT)
    limit = perfkit_settings.WARMING_TIME_LIMIT
    if timeout > limit:
        return []
    return [
        Warning(
            f"Celery's Redis visibility_timeout ({timeout!r} s) is not longer than "
            f"PERFKIT['WARMING_TIME_LIMIT'] ({limit!r} s): a perfkit task that is still running "
            "when it expires is delivered again (perfkit's tasks are acks_late) and runs twice.",
            hint=(
                f"Set broker_transport_options['visibility_timeout'] above {limit!r} "
                f"(for example {int(limit) * 2}), or lower PERFKIT['WARMING_TIME_LIMIT']."
            ),
            id="perfkit.W301",
        )
    ]


@register(Tags.compatibility, "perfkit")
def check_visibility_timeout(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """perfkit.W301 for the project's Celery app, if the project has loaded Celery."""
    if "celery" not in sys.modules:
        return []
    from perfkit.warming.broker import get_app

    return visibility_messages(get_app())
