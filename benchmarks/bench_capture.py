"""Query-capture overhead: perfkit.testing vs Django's CaptureQueriesContext and pytest-django.

    .venv/bin/python benchmarks/bench_capture.py [--queries 10000] [--rounds 7]

The same ORM query (``ContentType.objects.filter(pk=n).exists()``, SQLite in memory,
DEBUG=False) runs ``--queries`` times under each way of capturing, interleaved round-robin so
every variant sees the same minutes of the same machine; the figure per variant is the median
over rounds of this process's CPU time (``time.process_time``: the machine is shared, and
other processes' load would show in wall-clock time).
Overhead per query = (variant - no capture) / queries.

Variants: no capture; Django's ``CaptureQueriesContext``; pytest-django's
``django_assert_num_queries`` fixture body (``_assert_num_queries``, which wraps
``CaptureQueriesContext``); perfkit ``capture_queries()`` with locations on and off;
perfkit ``assert_num_queries`` (capture + check).  Writes ``benchmarks/results/capture.json``
(and ``bench_capture.json`` for run_all.py).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from _common import write_results  # benchmarks/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django() -> None:
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench",
        INSTALLED_APPS=["django.contrib.contenttypes", "perfkit"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        USE_TZ=True,
    )
    django.setup()
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    with connection.schema_editor() as editor:
        editor.create_model(ContentType)
    ContentType.objects.bulk_create(
        [ContentType(app_label="bench", model=f"m{n}") for n in range(100)]
    )


class _Config:
    """The one thing pytest-django's fixture reads from pytest's config."""

    def getoption(self, name: str) -> int:
        return 0


def variants(queries: int) -> dict[str, Callable[[], AbstractContextManager[Any]]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from pytest_django.fixtures import _assert_num_queries

    from perfkit.testing import assert_num_queries, capture_queries

    return {
        "no capture": nullcontext,
        "django CaptureQueriesContext": lambda: CaptureQueriesContext(connection),
        # exact=False (django_assert_max_num_queries): with more than 9,000 queries Django's
        # log drops the oldest, so the exact form would fail on a correct count
        "pytest-django django_assert_num_queries": lambda: _assert_num_queries(
            _Config(),  # type: ignore[arg-type]
            queries,
            exact=False,
        ),
        "perfkit capture_queries (locations on)": lambda: capture_queries(locations=True),
        "perfkit capture_queries (locations off)": lambda: capture_queries(locations=False),
        "perfkit assert_num_queries (locations on)": lambda: assert_num_queries(queries),
    }


def workload(queries: int) -> None:
    from django.contrib.contenttypes.models import ContentType

    for n in range(queries):
        ContentType.objects.filter(pk=n % 100 + 1).exists()


def _captured(context: Any) -> int | None:
    try:
        return len(context)
    except TypeError:
        return None


def measure(queries: int, rounds: int) -> dict[str, Any]:
    from django.db import connection

    makers = variants(queries)
    times: dict[str, list[float]] = {name: [] for name in makers}
    captured: dict[str, int | None] = {}
    workload(500)  # warm-up: imports, statement cache
    for _ in range(rounds):
        for name, make in makers.items():
            connection.queries_log.clear()  # Django's log is per connection and capped at 9,000
            # CPU time of this process: the machine is shared, and other processes' load shows
            # up in wall-clock time, not in ours
            start = time.process_time()
            with make() as context:
                workload(queries)
            times[name].append(time.process_time() - start)
            captured[name] = _captured(context)
    median = {name: statistics.median(values) for name, values in times.items()}
    base = median["no capture"]
    django_overhead = median["django CaptureQueriesContext"] - base
    rows = {}
    for name, seconds in median.items():
        overhead_us = (seconds - base) / queries * 1e6
        rows[name] = {
            "seconds": round(seconds, 4),
            "us_per_query": round(seconds / queries * 1e6, 2),
            "overhead_us_per_query": round(overhead_us, 2),
            "total_vs_django": round(seconds / median["django CaptureQueriesContext"], 3),
            "overhead_vs_django": round((seconds - base) / django_overhead, 3)
            if django_overhead > 0
            else None,
            "best_us_per_query": round(min(times[name]) / queries * 1e6, 2),
            "best_overhead_us_per_query": round(
                (min(times[name]) - min(times["no capture"])) / queries * 1e6, 2
            ),
            "rounds": [round(v, 4) for v in times[name]],
            "queries_captured": captured[name],
        }
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    setup_django()
    import django

    rows = measure(args.queries, args.rounds)
    width = max(len(name) for name in rows)
    print(
        f"{args.queries} queries x {args.rounds} rounds (median CPU time), SQLite in memory, "
        "DEBUG=False"
    )
    print(
        f"{'variant':<{width}}  {'us/query':>9}  {'overhead us':>11}  {'total/django':>12}  "
        f"{'overhead/django':>15}  {'captured':>8}"
    )
    for name, row in rows.items():
        ratio = row["overhead_vs_django"]
        print(
            f"{name:<{width}}  {row['us_per_query']:>9.2f}  {row['overhead_us_per_query']:>11.2f}"
            f"  {row['total_vs_django']:>12.3f}  {'-' if ratio is None else f'{ratio:.3f}':>15}"
            f"  {'-' if row['queries_captured'] is None else row['queries_captured']:>8}"
        )
    result = {
        "what": "query capture overhead per query, perfkit vs CaptureQueriesContext and "
        "pytest-django, same ORM query, SQLite in memory",
        "machine": {
            "python": platform.python_version(),
            "django": django.get_version(),
            "platform": platform.platform(),
        },
        "queries": args.queries,
        "rounds": args.rounds,
        "variants": rows,
        "target": "perfkit capture_queries (locations on) total within 1.5x of "
        "CaptureQueriesContext",
        "ratio_locations_on_vs_django": rows["perfkit capture_queries (locations on)"][
            "total_vs_django"
        ],
        "best_overhead_us_per_query": {
            name: row["best_overhead_us_per_query"] for name, row in rows.items()
        },
    }
    write_results(result, "capture", echo=False)
    print(
        "ratio (perfkit, locations on) / CaptureQueriesContext: "
        f"{result['ratio_locations_on_vs_django']:.3f} (median time per run)"
    )
    print("best-round overhead per query (us):")
    for name, value in result["best_overhead_us_per_query"].items():
        print(f"  {name:<{width}}  {value:>7.2f}")


if __name__ == "__main__":
    main()
