"""perfkit_sync_beat: warmer schedules -> django-celery-beat rows, idempotent and polite."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from celery.schedules import crontab
from django.core.management import call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from perfkit.warming import beat_schedule, registry, warmer
from perfkit.warming.beat import MARKER
from tests.warming import cachedfuncs
from tests.warming.conftest import QUEUE

pytestmark = pytest.mark.django_db


def sync(*args: str) -> list[str]:
    out = StringIO()
    call_command("perfkit_sync_beat", *args, stdout=out)
    return out.getvalue().splitlines()


def rows() -> dict[str, tuple]:
    return {
        t.name: (
            t.task,
            json.loads(t.kwargs),
            t.queue,
            t.priority,
            t.enabled,
            t.interval and (t.interval.every, t.interval.period),
            t.crontab and str(t.crontab),
        )
        for t in PeriodicTask.objects.order_by("name")
    }


@pytest.fixture
def schedules(celery_app):
    warmer(cachedfuncs.square, name="t.every", args=lambda: [1], schedule=60, priority=7)
    warmer(cachedfuncs.urgent, name="t.cron", args=lambda: [2], schedule="*/15 * * * *")
    warmer(cachedfuncs.slow, name="t.never", args=lambda: [3])  # no schedule: no row


def test_sync_creates_one_row_per_scheduled_warmer_and_is_idempotent(schedules):
    assert sync() == [
        "create    perfkit:warm:t.every  (every 60 s, priority 7)",
        "create    perfkit:warm:t.cron  (crontab '*/15 * * * *', priority 5)",
        "2 created, 0 updated, 0 disabled.",
    ]
    first = rows()
    assert first["perfkit:warm:t.every"] == (
        "perfkit.warm",
        {"name": "t.every"},
        QUEUE,
        2,  # Redis broker: perfkit's 7 is kombu's 2
        True,
        (60, "seconds"),
        None,
    )
    assert first["perfkit:warm:t.cron"][6].startswith("*/15 * * * * (m/h/dM/MY/d) Asia/Seoul")
    assert sync()[-1] == "0 created, 0 updated, 0 disabled."
    assert rows() == first
    assert PeriodicTask.objects.get(name="perfkit:warm:t.every").description.endswith(MARKER)


def test_a_changed_schedule_updates_the_row(schedules):
    sync()
    warmer(cachedfuncs.square, name="t.every", args=lambda: [1], schedule=300, priority=7)
    assert "update    perfkit:warm:t.every" in sync()[0]
    assert rows()["perfkit:warm:t.every"][5] == (300, "seconds")
    assert IntervalSchedule.objects.filter(every=300).count() == 1


def test_the_row_of_a_removed_warmer_is_disabled_not_deleted(schedules):
    sync()
    del registry["t.cron"]
    assert sync() == [
        "unchanged perfkit:warm:t.every  (every 60 s, priority 7)",
        "disable   perfkit:warm:t.cron  (its warmer no longer exists)",
        "0 created, 0 updated, 1 disabled.",
    ]
    assert rows()["perfkit:warm:t.cron"][4] is False
    assert sync()[-1] == "0 created, 0 updated, 0 disabled."


def test_rows_perfkit_did_not_create_are_never_touched(schedules):
    every = IntervalSchedule.objects.create(every=5, period="minutes")
    PeriodicTask.objects.create(name="nightly-report", task="reports.nightly", interval=every)
    # same name as ours, but created by the user: no marker in the description
    PeriodicTask.objects.create(
        name="perfkit:warm:t.every", task="mine.custom", interval=every, description="mine"
    )
    PeriodicTask.objects.create(
        name="perfkit:warm:gone", task="mine.other", interval=every, enabled=True
    )
    before = {k: v for k, v in rows().items() if k != "perfkit:warm:t.cron"}
    lines = sync()
    assert lines[0] == "skip      perfkit:warm:t.every  (a row perfkit did not create)"
    after = rows()
    assert {k: after[k] for k in before} == before
    assert after["perfkit:warm:t.cron"][0] == "perfkit.warm"


def test_dry_run_writes_nothing(schedules):
    assert sync("--dry-run") == [
        "create    perfkit:warm:t.every  (every 60 s, priority 7)",
        "create    perfkit:warm:t.cron  (crontab '*/15 * * * *', priority 5)",
        "Dry run, nothing written: 2 to create, 0 to update, 0 to disable.",
    ]
    assert PeriodicTask.objects.count() == 0
    sync()
    warmer(cachedfuncs.square, name="t.every", args=lambda: [1], schedule=30, priority=7)
    before = rows()
    assert sync("--dry-run")[0].startswith("update    perfkit:warm:t.every")
    assert rows() == before


def test_beat_schedule_dict_for_projects_without_django_celery_beat(schedules):
    entries = beat_schedule()
    assert set(entries) == {"perfkit:warm:t.every", "perfkit:warm:t.cron"}
    assert entries["perfkit:warm:t.every"] == {
        "task": "perfkit.warm",
        "schedule": 60.0,
        "kwargs": {"name": "t.every"},
        "options": {"queue": QUEUE, "priority": 2},
    }
    assert entries["perfkit:warm:t.cron"]["schedule"] == crontab("*/15", "*", "*", "*", "*")
