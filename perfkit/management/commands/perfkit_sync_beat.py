"""``manage.py perfkit_sync_beat [--dry-run]``: warmer schedules -> django-celery-beat rows."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Create or update a django-celery-beat PeriodicTask for every scheduled warmer and "
        "disable the rows of warmers that no longer exist. Rows perfkit did not create are "
        "never touched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="show the plan, write nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        from perfkit._optional import require

        require("django_celery_beat", feature="perfkit_sync_beat")
        from perfkit.warming.beat import sync_beat

        changes = sync_beat(dry_run=options["dry_run"])
        for change in changes:
            self.stdout.write(str(change))
        counts = {a: sum(c.action == a for c in changes) for a in ("create", "update", "disable")}
        summary = ", ".join(
            f"{n} to {a}" if options["dry_run"] else f"{n} {a}d" for a, n in counts.items()
        )
        self.stdout.write(
            ("Dry run, nothing written: " if options["dry_run"] else "") + summary + "."
        )
