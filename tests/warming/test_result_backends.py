"""Progress and the summary through django-celery-results' ``django-db`` backend (the demo's)."""

from __future__ import annotations

import os

import pytest
from celery import Celery
from django_celery_results.models import TaskResult

from perfkit.warming import warm, warmer
from perfkit.warming.celery import configure_celery
from tests.warming import cachedfuncs
from tests.warming.conftest import purge, running_worker, watch_progress

# PostgreSQL pass only: on SQLite's shared in-memory test database the worker thread writing
# TaskResult rows and the test thread polling them lock each other's table
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def db_results_app(warming_settings):
    app = Celery(f"perfkit_dbresults_tests_{os.getpid()}", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.result_backend = "django-db"
    configure_celery(app)
    purge(app)
    yield app
    purge(app)


def test_progress_and_summary_through_the_django_db_backend(db_results_app, records):
    warmer(
        cachedfuncs.slow,
        name="t.dbresults",
        args=lambda: [{"n": n, "seconds": 0.3} for n in range(4)],
        chunk_size=1,
    )
    with running_worker(db_results_app):
        result = warm("t.dbresults")
        progress, summary = watch_progress(result)
    assert progress
    assert {p["total"] for p in progress} == {4}
    assert summary["stored"] == 4
    assert summary["chunks"] == 4
    row = TaskResult.objects.get(task_id=result.id)
    assert row.status == "SUCCESS"
