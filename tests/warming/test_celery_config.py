"""configure_celery(): perfkit's defaults, explicit user settings win, idempotent."""

from __future__ import annotations

import subprocess
import sys

from celery import Celery

from perfkit.warming.celery import configure_celery
from tests.warming.conftest import QUEUE, subprocess_env


def new_app(**conf) -> Celery:
    app = Celery("perfkit_config_tests", set_as_current=False)
    app.conf.update(broker_url="redis://127.0.0.1:6379/12", **conf)
    return app


def test_defaults_on_a_bare_app():
    app = configure_celery(new_app())
    assert (app.conf.task_serializer, app.conf.result_serializer) == ("json", "json")
    assert list(app.conf.accept_content) == ["json"]
    assert (app.conf.timezone, app.conf.enable_utc) == ("Asia/Seoul", True)
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.broker_transport_options == {
        "priority_steps": list(range(10)),
        "sep": ":",
        "queue_order_strategy": "priority",
    }
    assert app.conf.task_routes == {"perfkit.*": {"queue": QUEUE}}
    assert [q.name for q in app.conf.task_queues] == ["celery", QUEUE]
    assert app.conf.task_queues[1].queue_arguments == {"x-max-priority": 9}
    for name in ("perfkit.warm", "perfkit.warm_chunk", "perfkit.warm_done", "perfkit.refresh"):
        assert app.tasks[name].acks_late is True


def test_explicit_settings_win_and_a_second_call_changes_nothing():
    app = new_app(
        task_serializer="pickle",
        accept_content=["pickle"],
        timezone="UTC",
        worker_prefetch_multiplier=8,
        broker_transport_options={"visibility_timeout": 7200, "sep": "|"},
        task_routes={"myapp.*": {"queue": "mine"}},
    )
    configure_celery(app)
    snapshot = {k: app.conf[k] for k in ("task_routes", "task_queues", "accept_content")}
    configure_celery(app)
    assert {k: app.conf[k] for k in snapshot} == snapshot
    assert app.conf.task_serializer == "pickle"  # perfkit's own messages still say json
    assert app.conf.accept_content == ["pickle", "json"]
    assert app.conf.timezone == "UTC"
    assert app.conf.worker_prefetch_multiplier == 8
    assert app.conf.broker_transport_options == {
        "priority_steps": list(range(10)),
        "sep": "|",
        "queue_order_strategy": "priority",
        "visibility_timeout": 7200,
    }
    assert app.conf.task_routes == {"perfkit.*": {"queue": QUEUE}, "myapp.*": {"queue": "mine"}}


def test_the_demo_app_is_configured_once_django_is_ready():
    # demo_project.celery calls configure_celery while the settings module is still loading
    code = (
        "import django; django.setup();"
        "from demo_project.celery import app;"
        "from perfkit.warming.celery import get_app;"
        "import perfkit.cache.stampede as s;"
        "print(get_app() is app, app.conf.task_routes, app.conf.worker_prefetch_multiplier,"
        " s._refresher[0].__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(DJANGO_SETTINGS_MODULE="demo_project.settings"),
        check=True,
    )
    assert out.stdout.split("\n")[0] == (
        "True {'perfkit.*': {'queue': 'perfkit'}} 1 enqueue_refresh"
    )
