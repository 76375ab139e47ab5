"""Cost of one ORM write (tracked fields, m2m) with 10 and 100,000 dependent entries.

    .venv/bin/python benchmarks/bench_invalidation_relations.py [--entries 100000] [--writes 200]

Uses the test settings (SQLite in memory) with their "redis" cache on a private redis-server;
this process and that server are pinned to CPU 0 (``benchmarks/_redis.py``).  For each write
kind it reports the median milliseconds of the whole write (SQL + invalidation) and how many SQL
statements it ran, with 10 and with ``--entries`` entries depending on what the write
invalidates: the cost must stay flat.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from _common import write_results  # benchmarks/ is on sys.path when a script runs
from _redis import private_redis

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--writes", type=int, default=200)
    args = parser.parse_args()
    with private_redis("invalidation-relations") as start:
        # read by tests/settings.py when django.setup() imports it
        os.environ["PERFKIT_TEST_REDIS_URL"] = f"redis://127.0.0.1:{start()}/0"
        out = measure(args.entries, args.writes)
    write_results(out, "invalidation_relations")


def measure(entries: int, writes_per_kind: int) -> dict:
    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import caches
    from django.core.management import call_command
    from django.db import connection
    from django.test import override_settings
    from django.test.utils import CaptureQueriesContext

    from demo_project.bookstore.models import Book, Tag
    from perfkit.cache import MISSING, cached
    from tests.cache.test_invalidation import make_books
    from tests.testapp.models import Opinion, Product

    big = {**settings.CACHES["default"], "OPTIONS": {"MAX_ENTRIES": 10 * entries}}
    override_settings(CACHES={**settings.CACHES, "default": big}).enable()
    call_command("migrate", verbosity=0, run_syncdb=True)
    _, _, books = make_books(2)
    tags = [Tag.objects.create(name=f"t{i}", slug=f"t{i}") for i in range(5)]
    product = Product.objects.create(name="p")
    opinion = Opinion.objects.create(product=product)

    def writes():
        def save():
            books[0].save()

        def tracked_save():
            opinion.save()

        def m2m_clear():
            books[1].tags.add(*tags)
            books[1].tags.clear()

        return {"save": save, "tracked_save": tracked_save, "m2m_add_clear": m2m_clear}

    out: dict = {}
    for alias in ("default", "redis"):
        for count in (10, entries):

            @cached(timeout=3600, cache=alias, depends_on=lambda n: [(Book, books[0].pk), Tag,
                    (Opinion, {"product": product.pk})])  # fmt: skip
            def entry(n):
                return n

            for start in range(0, count, 5000):
                entry.warm_many(((n,), {}) for n in range(start, min(count, start + 5000)))
            assert entry.peek(count - 1) == count - 1
            for name, write in writes().items():
                times = []
                for _ in range(writes_per_kind):
                    started = time.perf_counter()
                    write()
                    times.append(time.perf_counter() - started)
                with CaptureQueriesContext(connection) as queries:
                    write()
                out[f"{alias}:{name}:{count}"] = {
                    "median_ms": round(statistics.median(times) * 1000, 3),
                    "sql": len(queries),
                }
            assert entry.peek(0) is MISSING
            if alias == "default":
                caches[alias].clear()
    return out


if __name__ == "__main__":
    main()
