"""The demo's Celery app, configured the way Django projects usually configure Celery."""

from __future__ import annotations

import os

from celery import Celery

from perfkit.warming import configure_celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_project.settings")

app = Celery("demo_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    timezone="Asia/Seoul",
    enable_utc=True,
    broker_transport_options={
        "priority_steps": list(range(10)),
        "sep": ":",
        "queue_order_strategy": "priority",
    },
    beat_scheduler="django_celery_beat.schedulers:DatabaseScheduler",
    result_extended=True,
)
# perfkit's queue (x-max-priority), routes, prefetch 1, refresh-ahead; runs once Django is ready
configure_celery(app)
app.autodiscover_tasks()
