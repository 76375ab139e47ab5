"""``manage.py perfkit_warm [NAME ...] [--all] [--sync] [--wait]``: run cache warmers."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from perfkit import progress
from perfkit.exceptions import PerfkitError


class Command(BaseCommand):
    help = "Warm caches: enqueue warmers on Celery (or run them here with --sync)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("names", nargs="*", metavar="NAME", help="warmers to run")
        parser.add_argument("--all", action="store_true", help="run every registered warmer")
        parser.add_argument("--sync", action="store_true", help="warm in this process")
        parser.add_argument(
            "--wait", action="store_true", help="follow progress through the result backend"
        )
        parser.add_argument("--priority", type=int, help="0-9, 9 most urgent")
        parser.add_argument("--timeout", type=float, default=None, help="seconds to wait")
        parser.add_argument("--list", action="store_true", help="list the warmers and exit")

    def handle(self, *names: str, **options: Any) -> None:
        from perfkit.warming.registry import discover, get_warmer, registry

        discover()
        names = tuple(options["names"]) or names
        if options["list"]:
            for warmer in registry.values():
                schedule = warmer.schedule[1] if warmer.schedule else "-"
                self.stdout.write(f"{warmer.name}  priority={warmer.priority}  {schedule}")
            return
        if options["all"]:
            names = tuple(registry)
        if not names:
            raise CommandError("Name the warmers to run, or pass --all (see --list).")
        try:
            warmers = [get_warmer(name) for name in names]
            for warmer in warmers:
                if options["sync"]:
                    self._sync(warmer)
                else:
                    self._enqueue(warmer.name, options)
        except PerfkitError as exc:
            raise CommandError(str(exc)) from exc

    def _sync(self, warmer: Any) -> None:
        from perfkit.warming.sync import warm_sync

        self.stdout.write(f"{warmer.name}: warming here (--sync)")
        summary = warm_sync(warmer, progress=self._progress)
        self._finish(summary, bar=False)

    def _enqueue(self, name: str, options: dict[str, Any]) -> None:
        from perfkit.warming.enqueue import warm

        result = warm(name, priority=options["priority"])
        self.stdout.write(f"{name}: enqueued perfkit.warm {result.id}")
        if not options["wait"]:
            return
        deadline = None if options["timeout"] is None else time.monotonic() + options["timeout"]
        shown = None
        while not result.ready():
            info = result.info if result.state == "PROGRESS" else None
            if isinstance(info, dict) and info != shown:
                self._progress(info.get("done", 0), info.get("total", 0), info.get("failed", 0))
                shown = info
            if deadline is not None and time.monotonic() > deadline:
                raise CommandError(f"{name}: not finished after {options['timeout']:g} s")
            time.sleep(0.2)
        summary = result.get(propagate=True, disable_sync_subtasks=False)
        self._finish(summary)

    def _progress(self, done: int, total: int, failed: int) -> None:
        line = f"{progress.bar(done, total)} {done}/{total} ({failed} failed)"
        progress.ProgressLine(self.stdout).show(line, done, total)

    def _finish(self, summary: dict[str, Any], *, bar: bool = True) -> None:
        if bar:  # the last PROGRESS seen may be older than the end
            failed = summary["failed_count"]
            self._progress(summary["stored"] + failed, summary["total"], failed)
        self.stdout.write(
            f"{summary['warmer']}: {summary['stored']} stored, {summary['failed_count']} failed, "
            f"{summary['skipped']} skipped (already running), {summary['chunks']} chunks"
        )
        for args, kwargs, reason in summary["failed"][:20]:
            self.stdout.write(f"  failed {args} {kwargs}: {reason}")
