"""``manage.py perfkit_doctor``: probe every cache and Celery; say what is wrong and the fix.

Exit status 1 when there is an error (a cache or service that does not answer, a missing cache
table), 0 otherwise; ``--json`` prints the same as one JSON document.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from perfkit.backends.doctor import Diagnosis, diagnose


class Command(BaseCommand):
    help = "Check every cache alias (round trip, latency, configuration) and Celery."

    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--cache", action="append", dest="aliases", help="Only this alias (repeatable)."
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON document.")

    def handle(self, *args: Any, aliases: list[str] | None, **options: Any) -> None:
        from django.conf import settings

        unknown = sorted(set(aliases or []) - set(settings.CACHES))
        if unknown:
            raise CommandError(
                f"Unknown cache alias {unknown[0]!r}; CACHES has: {', '.join(settings.CACHES)}."
            )
        result = diagnose(aliases)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
        else:
            self._print(result)
        if result.errors:
            raise SystemExit(1)

    def _print(self, result: Diagnosis) -> None:
        style, out = self.style, self.stdout.write
        for probe in result.caches:
            state = style.SUCCESS("ok") if probe.ok else style.ERROR("FAILED")
            timings = "  ".join(f"{op} {ms:.2f} ms" for op, ms in probe.latency_ms.items())
            out(f"cache {probe.alias!r:<12} {probe.kind:<20} {probe.location}")
            breaker = ""  # shown when it matters: open, or calls failed open
            b = probe.breaker
            if b is not None and (b["state"] == "open" or b["failed_open"]):
                breaker = f"  breaker {b['state']}, {b['failed_open']} call(s) failed open"
            out(f"    {state}  {timings or probe.error}{breaker}")
        for service in result.services:
            if service.ok is None:
                state = style.WARNING("not checked")
            else:
                state = style.SUCCESS("ok") if service.ok else style.ERROR("FAILED")
            detail = f"{service.latency_ms:.2f} ms" if service.latency_ms is not None else ""
            out(f"celery {service.name:<14} {service.url}")
            out(f"    {state}  {detail or service.error or ''}".rstrip())
        for finding in sorted(result.findings, key=lambda f: (f.level != "error", f.id)):
            paint = style.ERROR if finding.level == "error" else style.WARNING
            out(paint(f"{finding.id}: {finding.message}"))
            out(f"    HINT: {finding.hint}")
        summary = f"{len(result.errors)} error(s), {len(result.warnings)} warning(s)."
        out(style.ERROR(summary) if result.errors else style.SUCCESS(summary))
