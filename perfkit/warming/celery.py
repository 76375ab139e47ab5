"""``configure_celery(app)``: the Celery configuration perfkit's tasks rely on.

Every change is a default: a value the user set explicitly (in ``app.conf`` or through the
``CELERY_`` settings namespace) wins.  Calling it twice changes nothing more.
"""

from __future__ import annotations

import functools
from typing import Any

from django.apps import apps as django_apps
from django.conf import settings

from perfkit._optional import require
from perfkit.conf import perfkit_settings

require("celery", feature="perfkit.warming")

from celery import Celery, current_app  # noqa: E402
from celery.app.defaults import DEFAULTS  # noqa: E402
from kombu import Exchange, Queue  # noqa: E402

__all__ = ["broker_priority", "configure_celery", "get_app", "perfkit_queue", "queue_name"]

# RabbitMQ: priorities 0..9 exist on a queue declared with this argument
MAX_PRIORITY = 9
REDIS_TRANSPORT_OPTIONS = {
    "priority_steps": list(range(10)),
    "sep": ":",
    "queue_order_strategy": "priority",
}
_configured: list[Celery] = []


def _user_set(app: Celery, key: str) -> bool:
    conf = app.conf
    return key in conf.changes or conf.get(key) != DEFAULTS.get(key)


def _default(app: Celery, key: str, value: Any) -> None:
    if not _user_set(app, key):
        app.conf[key] = value


def perfkit_queue(name: str | None = None) -> Queue:
    """The kombu ``Queue`` perfkit sends to: declared with ``x-max-priority`` for RabbitMQ."""
    name = name or perfkit_settings.WARMING_QUEUE
    return Queue(
        name,
        Exchange(name, type="direct"),
        routing_key=name,
        queue_arguments={"x-max-priority": MAX_PRIORITY},
    )


def queue_name(app: Celery, name: str | None = None) -> str:
    """The name of perfkit's queue ``name`` (default WARMING_QUEUE), known to ``app``.

    Messages name their queue (a ``Queue`` object would not survive a chord's JSON); the app
    knows the queue's ``x-max-priority`` argument and declares it so on RabbitMQ.
    """
    queue = perfkit_queue(name)
    queues = app.amqp.queues
    if queue.name not in queues:
        queues.add(queue)
    return queue.name


def configure_celery(app: Celery) -> Celery:
    """Apply perfkit's Celery configuration to ``app`` (idempotent; explicit settings win).

    Called before Django is set up (from a project's ``celery.py`` imported by the project's
    ``__init__``), it waits and runs when perfkit's AppConfig is ready.
    """
    from perfkit.warming import startup

    if not startup.is_ready() and not django_apps.ready:
        if app not in startup.pending_apps:
            startup.pending_apps.append(app)
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
    queues = list(app.conf.task_queues or app.amqp.Queues(()).values())
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

    from perfkit.warming import tasks  # noqa: F401  (registers perfkit.warm & co.)
    from perfkit.warming.refresh import install_refresher

    if app in _configured:
        _configured.remove(app)
    _configured.append(app)
    install_refresher()
    return app


def get_app() -> Celery:
    """The app last passed to ``configure_celery`` (else Celery's current app)."""
    return _configured[-1] if _configured else current_app


@functools.cache
def _driver(url: str) -> str:
    from kombu import Connection

    return str(Connection(url).transport.driver_type)


def broker_priority(app: Celery, priority: int) -> int:
    """Map perfkit's priority (0-9, 9 most urgent) onto ``app``'s broker scale.

    RabbitMQ uses 0-9 with 9 the highest, as perfkit does; kombu's Redis transport treats 0 as
    the highest and files messages into ``priority_steps`` buckets, so the scale is reversed.
    """
    url = app.conf.broker_write_url or app.conf.broker_url or ""
    return MAX_PRIORITY - priority if _driver(url) == "redis" else priority


def celery_active(app: Celery) -> bool:
    """True when tasks go to a real broker (a broker URL is set and eager mode is off)."""
    return bool(app.conf.broker_url) and not app.conf.task_always_eager
