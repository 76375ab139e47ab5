"""Invalidation cost of one write with 10 vs many dependent entries (must stay flat).

    .venv/bin/python benchmarks/bench_invalidation.py [--entries 100000] [--repeat 21]

For each cache (local memory; django-redis on a private ``redis-server``) and each number of
entries that depend on ``Author`` (10, ``--entries``), the median time of:

- an ORM write in autocommit (``author.save()``: the UPDATE plus its bump),
- the same write inside ``transaction.atomic()`` (the bump runs at commit),
- a raw SQL ``UPDATE`` through a Django cursor (the execute wrapper's bump),
- ``invalidate(Author)`` alone (one ``set_many`` of the model generations),

and, as the baseline, the UPDATE with invalidation off. Then checks that every dependent entry
is invalid. This process and the private Redis are pinned to CPU 0. Writes
``benchmarks/results/bench_invalidation.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from _common import write_results  # benchmarks/ is on sys.path when a script runs
from _redis import private_redis  # benchmarks/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(port: int) -> None:
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench",
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "perfkit",
            "demo_project.bookstore",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "OPTIONS": {"MAX_ENTRIES": 1_000_000},
            },
            "redis": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{port}/0",
            },
        },
        PERFKIT={"KEY_PREFIX": "bench", "XFETCH_BETA": 0.0},
        USE_TZ=True,
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, run_syncdb=True)


def median_ms(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 4)


def measure(alias: str, count: int, repeat: int) -> dict[str, float]:
    from django.db import connection, transaction
    from django.test import override_settings

    from demo_project.bookstore.models import Author
    from perfkit.cache import MISSING, cached, invalidate

    author = Author.objects.create(name=f"A{alias}{count}")
    table = Author._meta.db_table

    @cached(timeout=3600, cache=alias, depends_on=[Author])
    def entry(n):
        return n

    for start in range(0, count, 5000):
        entry.warm_many(((n,), {}) for n in range(start, min(count, start + 5000)))
    assert entry.peek(count - 1) == count - 1

    def save():
        author.save(update_fields=["name"])

    def save_in_transaction():
        with transaction.atomic():
            author.save(update_fields=["name"])

    def raw_update():
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET name = name WHERE id = %s", [author.pk])

    with override_settings(PERFKIT={"KEY_PREFIX": "bench", "INVALIDATION": False}):
        baseline = median_ms(save, repeat)
        assert entry.peek(0) == 0  # nothing was bumped
    out = {
        "save, invalidation off (baseline)": baseline,
        "save (autocommit)": median_ms(save, repeat),
        "save in atomic() (bump at commit)": median_ms(save_in_transaction, repeat),
        "raw SQL UPDATE": median_ms(raw_update, repeat),
        "invalidate(Author)": median_ms(lambda: invalidate(Author), repeat),
    }
    assert entry.peek(0) is MISSING
    assert entry.peek(count - 1) is MISSING
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    with private_redis("invalidation") as start:
        setup_django(start())
        import django

        from perfkit.cache import registry

        results: dict[str, dict[str, dict[str, float]]] = {}
        for alias, name in (("default", "locmem"), ("redis", "redis")):
            for count in (10, args.entries):
                for key in [k for k in registry if k.startswith("__main__.")]:
                    del registry[key]  # bumps go to this alias only
                results.setdefault(name, {})[str(count)] = measure(alias, count, args.repeat)
    small, large = "10", str(args.entries)
    plots = []
    for name, by_count in results.items():
        plots.append(
            {
                "file": f"bench_invalidation_{name}.png",
                "title": f"One write's invalidation cost ({name})",
                "kind": "grouped",
                "ylabel": "median ms per write",
                "groups": list(by_count[small]),
                "series": [
                    {"label": f"{n} dependent entries", "values": list(by_count[n].values())}
                    for n in (small, large)
                ],
            }
        )
    result = {
        "what": "median milliseconds of one write (and its invalidation), by dependent entries",
        "machine": {
            "python": platform.python_version(),
            "django": django.get_version(),
            "cpus": os.cpu_count(),
            "pinned": 0,
        },
        "repeat": args.repeat,
        "bump_ms": results,
        "ratio_large_to_small": {
            f"{name}: {op}": round(by_count[large][op] / by_count[small][op], 2)
            for name, by_count in results.items()
            for op in by_count[small]
        },
        "plots": plots,
    }
    write_results(result, "invalidation")


if __name__ == "__main__":
    main()
