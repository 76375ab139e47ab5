"""``manage.py perfkit_bench``: queries, cache operations and timings of every scenario."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from perfkit.bench import backends as bench_backends
from perfkit.bench import baseline, report
from perfkit.bench.registry import autodiscover, select
from perfkit.bench.runner import BenchRunner
from perfkit.exceptions import ImproperlyConfiguredError
from perfkit.progress import rich_bar


def _whole(minimum: int):  # type: ignore[no-untyped-def]
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise ValueError(text)
        return value

    parse.__name__ = f"whole number >= {minimum}"
    return parse


class Command(BaseCommand):
    help = (
        "Run the registered perf scenarios on each cache backend, cold and warm: queries "
        "(count, duplicates, N+1), cache operations and wall time. Compare with --baseline."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help="Names to run.")
        parser.add_argument(
            "--tag", action="append", default=[], help="Only scenarios with this tag."
        )
        parser.add_argument(
            "--backends",
            help="Comma-separated cache backends: locmem, db, redis. Default: locmem,db, "
            "plus redis when REDIS_URL is set.",
        )
        parser.add_argument(
            "--redis-url", help="Redis for the redis backend (default: REDIS_URL)."
        )
        parser.add_argument("--repeat", type=_whole(1), help="Timed runs (PERFKIT BENCH_REPEAT).")
        parser.add_argument("--warmup", type=_whole(0), help="Untimed runs (BENCH_WARMUP).")
        parser.add_argument("--json", metavar="PATH", help="Write the JSON report here.")
        parser.add_argument("--markdown", metavar="PATH", help="Write a Markdown table here.")
        parser.add_argument("--baseline", metavar="PATH", help="Compare with this JSON report.")
        parser.add_argument(
            "--tolerance",
            type=float,
            default=25.0,
            metavar="PCT",
            help="Median time growth (percent) allowed against --baseline. Default 25.",
        )
        parser.add_argument(
            "--min-delta-ms",
            type=float,
            default=0.1,
            metavar="MS",
            help="Median growth below this many ms never fails --baseline. Default 0.1.",
        )
        parser.add_argument("--cold", action="store_true", help="Only the cold-cache runs.")
        parser.add_argument("--warm", action="store_true", help="Only the warm-cache runs.")
        parser.add_argument("--list", action="store_true", help="List the scenarios and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        autodiscover()
        try:
            chosen = select(options["scenarios"], tags=options["tag"])
            backends = self._backends(options)
            previous = baseline.load_baseline(options["baseline"]) if options["baseline"] else None
        except ImproperlyConfiguredError as exc:
            raise CommandError(str(exc)) from exc
        if options["tolerance"] < 0:
            raise CommandError(f"--tolerance must be >= 0 percent, got {options['tolerance']}.")
        if options["list"]:
            for item in chosen:
                tags = f" [{', '.join(item.tags)}]" if item.tags else ""
                self.stdout.write(f"{item.name}: {item.label}{tags}")
            return
        if not chosen:
            raise CommandError(
                "No perfkit scenario to run: none is registered"
                + (f" with the tags {options['tag']!r}" if options["tag"] else "")
                + ". Register some with perfkit.bench.scenario() in a perf_scenarios.py module "
                "of an installed app."
            )
        modes = [m for m in ("cold", "warm") if options[m]] or ["cold", "warm"]
        runner = BenchRunner(
            chosen,
            backends=backends,
            repeat=options["repeat"],
            warmup=options["warmup"],
            modes=modes,
        )
        with self._progress(runner, options["verbosity"]):
            result = runner.run()
        data = result.as_dict()
        comparison = None
        if previous is not None:
            comparison = baseline.compare(
                data,
                previous,
                path=options["baseline"],
                tolerance=options["tolerance"],
                min_delta_ms=options["min_delta_ms"],
            )
            data["baseline"] = comparison.as_dict()
        report.render_table(data, self.stdout, comparison=comparison)
        if options["json"]:
            report.write_json(data, options["json"])
        if options["markdown"]:
            with open(options["markdown"], "w", encoding="utf-8") as handle:
                handle.write(report.render_markdown(data, comparison=comparison))
        if not result.measurements:
            raise CommandError(
                "Nothing was measured: every backend was skipped ("
                + "; ".join(f"{s['backend']}: {s['reason']}" for s in result.skipped)
                + "). Start the server or choose other --backends.",
                returncode=1,
            )
        failures = [m for m in result.measurements if m.error]
        if comparison is not None and comparison.failed:
            raise CommandError(
                f"{len(comparison.regressions)} regression(s) against {options['baseline']}: "
                + "; ".join(c.message for c in comparison.regressions),
                returncode=1,
            )
        if failures:
            raise CommandError(
                f"{len(failures)} scenario run(s) failed: "
                + "; ".join(
                    f"{m.scenario} on {m.backend} ({m.mode}): {m.error}" for m in failures
                ),
                returncode=1,
            )

    def _backends(self, options: dict[str, Any]) -> list[bench_backends.BenchBackend]:
        text = options["backends"]
        names = (
            [n.strip() for n in text.split(",") if n.strip()]
            if text
            else bench_backends.default_backend_names()
        )
        if not names:
            raise ImproperlyConfiguredError(
                f"--backends {text!r} names no backend. Use e.g. --backends locmem,db,redis."
            )
        return [
            bench_backends.make(n, redis_url=options["redis_url"]) for n in dict.fromkeys(names)
        ]

    def _progress(self, runner: BenchRunner, verbosity: int) -> Any:
        """A rich progress bar on a terminal; plain lines on stderr otherwise."""
        per_backend = len(runner.scenarios) * len(runner.modes)
        if verbosity >= 1 and sys.stderr.isatty():
            rich = rich_bar(runner.total_steps, "perfkit_bench")
            if rich is not None:
                bar, task = rich

                def rich_progress(event: str, message: str) -> None:
                    # a skipped backend gets its one line under the table, not here too
                    if event == "step":
                        bar.update(task, advance=1, description=message)
                    elif event == "skip":
                        bar.update(task, advance=per_backend)
                    else:
                        bar.console.print(message, markup=False)

                runner.progress = rich_progress
                return bar
        count = {"step": 0}

        def plain_progress(event: str, message: str) -> None:
            if event == "step":
                count["step"] += 1
                if verbosity >= 2:
                    self.stderr.write(f"[{count['step']}/{runner.total_steps}] {message}")
            elif event == "fail" and verbosity >= 1:
                self.stderr.write(message)

        runner.progress = plain_progress
        return nullcontext()
