"""perfkit's queue, priorities and app on the Celery side: what tasks and callers send with.

The bottom of perfkit.warming's Celery modules: it imports none of them.  ``configure_celery``
(perfkit/warming/celery.py) records the app it configured here with ``remember``.
"""

from __future__ import annotations

import functools

from perfkit._optional import require
from perfkit.conf import perfkit_settings

require("celery", feature="perfkit.warming")

from celery import Celery, current_app  # noqa: E402
from kombu import Exchange, Queue  # noqa: E402

__all__ = [
    "MAX_PRIORITY",
    "broker_driver",
    "broker_priority",
    "celery_active",
    "get_app",
    "perfkit_queue",
    "queue_name",
    "remember",
]

# RabbitMQ: priorities 0..9 exist on a queue declared with this argument
MAX_PRIORITY = 9
_configured: list[Celery] = []


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
    return str(queue.name)


def remember(app: Celery) -> None:
    """Make ``app`` the one ``get_app`` returns (called by ``configure_celery``)."""
    if app in _configured:
        _configured.remove(app)
    _configured.append(app)


def get_app() -> Celery:
    """The app last passed to ``configure_celery`` (else Celery's current app)."""
    return _configured[-1] if _configured else current_app


@functools.cache
def broker_driver(url: str) -> str:
    """kombu's transport driver for the broker ``url`` ("redis", "amqp", ...)."""
    from kombu import Connection

    return str(Connection(url).transport.driver_type)


def broker_priority(app: Celery, priority: int) -> int:
    """Map perfkit's priority (0-9, 9 most urgent) onto ``app``'s broker scale.

    RabbitMQ uses 0-9 with 9 the highest, as perfkit does; kombu's Redis transport treats 0 as
    the highest and files messages into ``priority_steps`` buckets, so the scale is reversed.
    """
    url = app.conf.broker_write_url or app.conf.broker_url or ""
    return MAX_PRIORITY - priority if broker_driver(url) == "redis" else priority


def celery_active(app: Celery) -> bool:
    """True when tasks go to a real broker (a broker URL is set and eager mode is off)."""
    return bool(app.conf.broker_url) and not app.conf.task_always_eager
