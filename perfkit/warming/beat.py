"""Warmer schedules for Celery beat: django-celery-beat rows, or a ``CELERY_BEAT_SCHEDULE`` dict.

Rows perfkit manages are named ``perfkit:warm:<warmer>`` AND carry ``MARKER`` in their
description; ``sync_beat`` touches no other row, so a user's own task that happens to be named
like ours is left alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from perfkit.warming.registry import Warmer, discover, registry

__all__ = ["MARKER", "ROW_PREFIX", "BeatChange", "beat_schedule", "sync_beat"]

ROW_PREFIX = "perfkit:warm:"
MARKER = "[managed by perfkit_sync_beat]"


def _describe(warmer: Warmer) -> str:
    kind, value = warmer.schedule  # type: ignore[misc]
    when = f"every {value:g} s" if kind == "interval" else f"crontab {value!r}"
    return f"{when}, priority {warmer.priority}"


def _options(warmer: Warmer) -> dict[str, Any]:
    from perfkit.warming.broker import broker_priority, get_app, perfkit_queue

    return {
        "queue": perfkit_queue(warmer.queue).name,
        "priority": broker_priority(get_app(), warmer.priority),
    }


def _scheduled() -> list[Warmer]:
    discover()
    return [w for w in registry.values() if w.schedule is not None]


def beat_schedule() -> dict[str, dict[str, Any]]:
    """Every scheduled warmer as a ``CELERY_BEAT_SCHEDULE`` / ``app.conf.beat_schedule`` entry.

    For projects without django-celery-beat: ``app.conf.beat_schedule = beat_schedule()`` once
    the apps are ready (e.g. in ``on_after_finalize``).
    """
    from celery.schedules import crontab

    entries: dict[str, dict[str, Any]] = {}
    for warmer in _scheduled():
        kind, value = warmer.schedule  # type: ignore[misc]
        if kind == "interval":
            when: Any = float(value)
        else:
            minute, hour, dom, month, dow = str(value).split()
            when = crontab(minute, hour, dom, month, dow)
        entries[ROW_PREFIX + warmer.name] = {
            "task": "perfkit.warm",
            "schedule": when,
            "kwargs": {"name": warmer.name},
            "options": _options(warmer),
        }
    return entries


@dataclass(frozen=True)
class BeatChange:
    """One line of the ``perfkit_sync_beat`` plan."""

    action: str  # create, update, unchanged, disable, skip
    name: str
    detail: str

    def __str__(self) -> str:
        return f"{self.action:<9} {self.name}  ({self.detail})"


def _schedule_fields(warmer: Warmer) -> dict[str, Any]:
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule

    kind, value = warmer.schedule  # type: ignore[misc]
    if kind == "interval":
        every = max(1, round(float(value)))
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=every, period=IntervalSchedule.SECONDS
        )
        return {"interval": interval, "crontab": None}
    minute, hour, dom, month, dow = str(value).split()
    cron, _ = CrontabSchedule.objects.get_or_create(
        minute=minute,
        hour=hour,
        day_of_month=dom,
        month_of_year=month,
        day_of_week=dow,
        timezone=settings.TIME_ZONE,
    )
    return {"interval": None, "crontab": cron}


def _desired(warmer: Warmer) -> dict[str, Any]:
    options = _options(warmer)
    return {
        "task": "perfkit.warm",
        "kwargs": json.dumps({"name": warmer.name}),
        "queue": options["queue"],
        "priority": options["priority"],
        "enabled": True,
        "description": f"Warms {warmer.name} ({_describe(warmer)}). {MARKER}",
        "solar": None,
        "clocked": None,
        "one_off": False,
    }


def sync_beat(*, dry_run: bool = False) -> list[BeatChange]:
    """Create/update a PeriodicTask per scheduled warmer, disable ours whose warmer is gone."""
    from django_celery_beat.models import PeriodicTask

    changes: list[BeatChange] = []
    warmers = {ROW_PREFIX + w.name: w for w in _scheduled()}
    with transaction.atomic():
        existing = {t.name: t for t in PeriodicTask.objects.filter(name__startswith=ROW_PREFIX)}
        for row_name, warmer in warmers.items():
            row = existing.get(row_name)
            detail = _describe(warmer)
            if row is not None and MARKER not in (row.description or ""):
                changes.append(BeatChange("skip", row_name, "a row perfkit did not create"))
                continue
            if dry_run and row is None:
                changes.append(BeatChange("create", row_name, detail))
                continue
            wanted = _desired(warmer)
            if not dry_run:
                wanted |= _schedule_fields(warmer)
            if row is None:
                PeriodicTask.objects.create(name=row_name, **wanted)
                changes.append(BeatChange("create", row_name, detail))
                continue
            differs = [k for k, v in wanted.items() if _field(row, k) != _key(v)]
            if dry_run and _schedule_differs(row, warmer):
                differs.append("schedule")
            if not differs:
                changes.append(BeatChange("unchanged", row_name, detail))
                continue
            if not dry_run:
                for field, value in wanted.items():
                    setattr(row, field, value)
                row.save()
            changes.append(
                BeatChange("update", row_name, f"{detail}; changed {', '.join(differs)}")
            )
        for row_name, row in existing.items():
            if row_name in warmers or MARKER not in (row.description or ""):
                continue
            if row.enabled:
                if not dry_run:
                    row.enabled = False
                    row.save(update_fields=["enabled"])
                changes.append(BeatChange("disable", row_name, "its warmer no longer exists"))
        if dry_run:
            transaction.set_rollback(True)
    return changes


def _key(value: Any) -> Any:
    return value.pk if hasattr(value, "pk") else value


def _field(row: Any, name: str) -> Any:
    if name in {"interval", "crontab", "solar", "clocked"}:
        return getattr(row, f"{name}_id")
    return getattr(row, name)


def _schedule_differs(row: Any, warmer: Warmer) -> bool:
    kind, value = warmer.schedule  # type: ignore[misc]
    if kind == "interval":
        every = max(1, round(float(value)))
        return row.interval is None or (row.interval.every, row.interval.period) != (
            every,
            "seconds",
        )
    cron = row.crontab
    if cron is None:
        return True
    current = f"{cron.minute} {cron.hour} {cron.day_of_month} {cron.month_of_year} "
    return current + cron.day_of_week != value or str(cron.timezone) != settings.TIME_ZONE
