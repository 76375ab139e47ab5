"""Fixtures of the warming tests: a real worker on a queue unique to this test process."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.db import connection

from demo_project.env import BASE_DIR
from perfkit.warming import registry
from perfkit.warming.celery import configure_celery
from perfkit.warming.registry import discover
from tests.warming import cachedfuncs

QUEUE = f"perfkit-test-{os.getpid()}"
RABBITMQ_URL = os.environ.get("PERFKIT_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


@pytest.fixture(autouse=True, scope="session")
def _forget_this_process_queue() -> Iterator[None]:
    """After the session, delete the broker keys of this process's queue (bindings, lists)."""
    yield
    from tests.services import reachable

    if not reachable("127.0.0.1", 6379):
        return
    import redis

    client = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    keys = list(client.scan_iter(match=f"*{QUEUE}*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def warming_settings(settings: Any) -> Any:
    settings.PERFKIT = {
        "KEY_PREFIX": "pkt",
        "WARMING_QUEUE": QUEUE,
        "REFRESH_IN_BACKGROUND": False,
    }
    return settings


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    """Each test registers its own warmers; the apps' warmers come back afterwards."""
    discover()
    saved = dict(registry)
    registry.clear()
    yield
    registry.clear()
    registry.update(saved)


@pytest.fixture(autouse=True)
def restore_configured_apps() -> Iterator[None]:
    """Apps a test passes to configure_celery stop being perfkit's app after it."""
    from perfkit.warming.broker import _configured

    saved = list(_configured)
    yield
    _configured[:] = saved


@pytest.fixture(autouse=True)
def _broker_up_again() -> Iterator[None]:
    """A test that saw the broker down must not make the refresher skip it in the next one."""
    from perfkit.warming.refresh import _broker_down_until

    yield
    _broker_down_until[0] = 0.0


@pytest.fixture
def records(redis_cache: Any) -> Iterator[Any]:
    cachedfuncs.forget_records()
    cachedfuncs.release.clear()
    cachedfuncs._attempts.clear()
    yield cachedfuncs
    cachedfuncs.release.set()
    cachedfuncs.forget_records()


def purge(app: Any) -> None:
    with app.connection_for_write() as conn:
        try:
            conn.default_channel.queue_purge(QUEUE)
        except Exception:  # the queue does not exist yet
            pass


def queued(app: Any) -> int:
    """Messages waiting in this process's queue (every priority level)."""
    from kombu.exceptions import ChannelError

    with app.connection_for_write() as conn:
        try:
            return conn.default_channel.queue_declare(QUEUE, passive=True).message_count
        except ChannelError:  # never declared: nothing was ever sent to it
            return 0


@pytest.fixture
def celery_app(warming_settings: Any) -> Iterator[Any]:
    """The demo project's own Celery app (Redis broker and results, DB 12), on our queue."""
    from demo_project.celery import app

    configure_celery(app)
    purge(app)
    yield app
    purge(app)


@pytest.fixture
def rabbitmq_app(warming_settings: Any) -> Iterator[Any]:
    """An app configured like the demo's, with RabbitMQ as broker (results stay on Redis)."""
    from celery import Celery

    app = Celery(f"perfkit_rabbitmq_tests_{os.getpid()}", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.broker_url = RABBITMQ_URL
    configure_celery(app)
    yield app
    with app.connection_for_write() as conn:
        conn.default_channel.queue_delete(QUEUE)
        conn.default_channel.exchange_delete(QUEUE)


@contextmanager
def running_worker(app: Any, *, pool: str = "solo", concurrency: int = 1) -> Iterator[Any]:
    """A real worker thread consuming this process's queue only."""
    with start_worker(
        app,
        pool=pool,
        concurrency=concurrency,
        perform_ping_check=False,
        queues=[QUEUE],
        shutdown_timeout=30,
        loglevel="WARNING",
    ) as worker:
        yield worker


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment of worker/beat subprocesses: same key prefix, queue and test database."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.warming.subprocess_settings",
        PERFKIT_TEST_KEY_PREFIX=django_settings.TEST_KEY_PREFIX,
        PERFKIT_TEST_QUEUE=QUEUE,
        PYTHONPATH=os.pathsep.join([str(BASE_DIR), *sys.path]),
    )
    if connection.vendor == "postgresql":
        env["PERFKIT_TEST_DB_NAME"] = connection.settings_dict["NAME"]
    env.update(extra)
    return env


def watch_progress(result: Any, *, timeout: float = 60) -> tuple[list[dict[str, Any]], Any]:
    """Poll ``result`` until it is ready: (the PROGRESS infos seen, the final result).

    State and info come from ONE backend read: ``result.state`` then ``result.info`` are two
    reads, and the task may move on (to SUCCESS with its summary) between them.
    """
    seen: list[tuple[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not result.ready() and time.monotonic() < deadline:
        meta = result.backend.get_task_meta(result.id)
        seen.append((meta["status"], meta["result"]))
        time.sleep(0.05)
    summary = result.get(timeout=5)
    return [info for state, info in seen if state == "PROGRESS"], summary
