"""``configure_celery(app)``: the Celery configuration perfkit's tasks rely on.

Every change is a default: a value the user set explicitly (in ``app.conf`` or through the
``CELERY_`` settings namespace) wins.  Calling it twice changes nothing more.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps as django_apps
from django.conf import settings

from perfkit._optional import require

require("celery", feature="perfkit.warming")

from celery import Celery  # noqa: E402
from celery.app.defaults import DEFAULTS  # noqa: E402

from perfkit.warming import pending  # noqa: E402
from perfkit.warming.broker import (  # noqa: E402
    broker_priority,
    get_app,
    perfkit_queue,
    queue_name,
    remember,
)

__all__ = ["broker_priority", "configure_celery", "get_app", "perfkit_queue", "queue_name"]

REDIS_TRANSPORT_OPTIONS = {
    "priority_steps": list(range(10)),
    "sep": ":",
    "queue_order_strategy": "priority",
}


def _user_set(app: Celery, key: str) -> bool:
    conf = app.conf
    return key in (conf.changes or {}) or conf.get(key) != DEFAULTS.get(key)


def _default(app: Celery, key: str, value: Any) -> None:
    if not _user_set(app, key):
        app.conf[key] = value


def configure_celery(app: Celery) -> Celery:
    """Apply perfkit's Celery configuration to ``app`` (idempotent; explicit settings win).

    Called before Django is set up (from a project's ``celery.py`` imported by the project's
    ``__init__``), it waits and runs when perfkit's AppConfig is ready.
    """
    if not pending.is_ready() and not django_apps.ready:
        if app not in pending.apps:
            pending.apps.append(app)
        return app
    _default(app, "task_serializer", "json")
    _default(app, "result_serializer", "json")
    accept = list(app.conf.accept_content or [])
    if "json" not in accept and "application/json" not in accept:
        app.conf.accept_content = [*accept, "json"]
    _default(app, "timezone", settings.TIME_ZONE)
    _default(app, "enable_utc", True)
    _default(app, "worker_prefetch_multiplier", 1)
    options = dict(app.conf.broker_transport_options or {})
    app.conf.broker_transport_options = {**REDIS_TRANSPORT_OPTIONS, **options}

    queue = perfkit_queue()
    # without task_queues Celery consumes its default queue: keep it, built the way Celery does
    queues = list(app.conf.task_queues or app.amqp.Queues([]).values())
    if all(q.name != queue.name for q in queues):
        queues.append(queue)
    app.conf.task_queues = queues

    route = {"perfkit.*": {"queue": queue.name}}
    routes = app.conf.task_routes
    if routes is None:
        app.conf.task_routes = route
    elif isinstance(routes, dict):
        if "perfkit.*" not in routes:
            app.conf.task_routes = {**route, **routes}
    elif route not in list(routes):
        app.conf.task_routes = [*list(routes), route]

    # imported here, not at the top: a project's celery.py calls this while its settings load
    from perfkit.warming import tasks  # noqa: F401  (registers perfkit.warm & co.)
    from perfkit.warming.refresh import install_refresher

    remember(app)
    install_refresher()
    return app
