"""perfkit.cache side by side: hit path, invalidation cost, stampede.

    .venv/bin/python benchmarks/bench_cache.py [--rounds 9] [--ops 2000] [--entries 100000]

1. Hit path: ``@cached`` hit vs a bare ``cache.get`` vs django-cache-memoize's ``@cache_memoize``
   hit vs a raw redis-py GET (+ ``pickle.loads``), on local memory and on Redis (django-redis);
   plus django-cacheops' ``@cached_as`` hit on Redis when ``cacheops`` is importable (it is not a
   dependency: ``pip install --target DIR django-cacheops`` and put DIR on ``PYTHONPATH``).
   Every contender runs in every round, interleaved, so the ratios come from the same minutes.
2. Invalidation: the cost of one write when 10 and ``--entries`` entries depend on a model
   (perfkit: one generation bump) vs ``delete_pattern`` over the same entries.
3. Stampede: 32 threads on an expired key with a 50 ms function; how many times it runs with a
   naive get/compute/set decorator (django-cache-memoize) vs perfkit.

This process and a private ``redis-server`` (no persistence, free port) are pinned to CPU 0.
Writes ``benchmarks/results/cache.json`` (and ``bench_cache.json`` for run_all.py).
"""

from __future__ import annotations

import argparse
import os
import pickle
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

from _common import write_results  # benchmarks/ is on sys.path when a script runs
from _redis import private_redis  # benchmarks/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VALUE = {"id": 42, "title": "Dune", "author": {"id": 7, "name": "Frank Herbert"}, "tags": ["sf"]}


def has_cacheops() -> bool:
    import importlib.util

    return importlib.util.find_spec("cacheops") is not None


def setup_django(port: int) -> None:
    import django
    from django.conf import settings

    extra = {}
    if has_cacheops():
        extra = {
            "CACHEOPS_REDIS": f"redis://127.0.0.1:{port}/1",
            "CACHEOPS": {"bookstore.*": {"ops": (), "timeout": 3600}},
            "CACHEOPS_DEGRADE_ON_FAILURE": False,
        }
    settings.configure(
        **extra,
        DEBUG=False,
        SECRET_KEY="bench",
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "perfkit",
            "demo_project.bookstore",
            *(["cacheops"] if has_cacheops() else []),
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
        PERFKIT={"KEY_PREFIX": "bench"},  # the defaults (XFetch on)
        USE_TZ=True,
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, run_syncdb=True)


def per_call_us(func, ops: int) -> float:
    started = time.perf_counter()
    for _ in range(ops):
        func()
    return (time.perf_counter() - started) / ops * 1e6


def hit_path(rounds: int, ops: int) -> dict:
    from cache_memoize import cache_memoize
    from django.core.cache import caches

    from demo_project.bookstore.models import Book
    from perfkit.cache import cached

    contenders = {}
    for alias in ("default", "redis"):
        cache = caches[alias]
        cache.set("bare", VALUE, 3600)

        @cached(timeout=3600, cache=alias)
        def book(book_id):
            return VALUE

        # a row dependency: the entry is invalidated by a write to Book 42 (or the table)
        @cached(timeout=3600, cache=alias, depends_on=lambda book_id: (Book, book_id))
        def book_row(book_id):
            return VALUE

        @cache_memoize(3600, cache_alias=alias)
        def book_memo(book_id):
            return VALUE

        book(42), book_row(42), book_memo(42)
        assert book_row(42) == VALUE
        assert book(42) == book_memo(42) == cache.get("bare") == VALUE
        name = "locmem" if alias == "default" else "redis"
        contenders[f"{name}:cache.get"] = lambda cache=cache: cache.get("bare")
        contenders[f"{name}:perfkit @cached hit"] = lambda f=book: f(42)
        contenders[f"{name}:perfkit @cached hit, row dependency"] = lambda f=book_row: f(42)
        contenders[f"{name}:cache_memoize hit"] = lambda f=book_memo: f(42)
        if alias == "redis":
            raw = cache.client.get_client()
            raw_key = cache.client.make_key("bare")
            contenders["redis:raw redis-py GET+loads"] = lambda raw=raw, key=raw_key: pickle.loads(
                raw.get(key)
            )
    if has_cacheops():
        from cacheops import cached_as

        from demo_project.bookstore.models import Book

        @cached_as(Book, timeout=3600)
        def book_ops(book_id):
            return VALUE

        book_ops(42)
        assert book_ops(42) == VALUE
        contenders["redis:cacheops @cached_as hit"] = lambda: book_ops(42)
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for func in contenders.values():  # warm-up
        per_call_us(func, ops // 10)
    for _ in range(rounds):
        for name, func in contenders.items():
            samples[name].append(per_call_us(func, ops))
    medians = {name: round(statistics.median(v), 2) for name, v in samples.items()}
    ratios = {}
    for prefix in ("locmem", "redis"):
        bare = medians[f"{prefix}:cache.get"]
        mine = medians[f"{prefix}:perfkit @cached hit"]
        ratios[f"{prefix}: @cached / cache.get"] = round(mine / bare, 2)
        row = medians[f"{prefix}:perfkit @cached hit, row dependency"]
        ratios[f"{prefix}: @cached row dependency / cache.get"] = round(row / bare, 2)
        ratios[f"{prefix}: @cached / cache_memoize"] = round(
            mine / medians[f"{prefix}:cache_memoize hit"], 2
        )
    if "redis:cacheops @cached_as hit" in medians:
        ratios["redis: @cached / cacheops @cached_as"] = round(
            medians["redis:perfkit @cached hit"] / medians["redis:cacheops @cached_as hit"], 2
        )
    raw_get = medians["redis:raw redis-py GET+loads"]
    ratios["redis: @cached / raw redis-py GET+loads"] = round(
        medians["redis:perfkit @cached hit"] / raw_get, 2
    )
    ratios["redis: @cached row dependency / raw redis-py GET+loads"] = round(
        medians["redis:perfkit @cached hit, row dependency"] / raw_get, 2
    )
    return {"median_us_per_call": medians, "ratios": ratios}


def invalidation(entries: int) -> dict:
    from django.core.cache import caches

    from demo_project.bookstore.models import Author
    from perfkit.cache import MISSING, cached, invalidate

    cache = caches["redis"]
    out = {}
    for count in (10, entries):

        @cached(timeout=3600, cache="redis", depends_on=[Author])
        def entry(n):
            return n

        for start in range(0, count, 5000):
            entry.warm_many(((n,), {}) for n in range(start, min(count, start + 5000)))
        cache.set_many({f"memo:{n}": n for n in range(count)}, 3600)  # the same, for scanning
        assert entry.peek(count - 1) == count - 1
        times = []
        for _ in range(5):
            started = time.perf_counter()
            invalidate(Author)  # what any write to the table costs: one set_many
            times.append(time.perf_counter() - started)
        perfkit_ms = statistics.median(times) * 1000
        started = time.perf_counter()
        deleted = cache.delete_pattern("memo:*", itersize=1000)
        pattern_ms = (time.perf_counter() - started) * 1000
        assert entry.peek(0) is MISSING  # the bump reached every dependent entry
        assert deleted == count
        out[str(count)] = {
            "perfkit_bump_ms": round(perfkit_ms, 3),
            "delete_pattern_ms": round(pattern_ms, 3),
        }
        cache.delete_pattern("bench:c:*", itersize=5000)
    return out


def stampede(threads: int = 32, work: float = 0.05) -> dict:
    from cache_memoize import cache_memoize

    from perfkit.cache import cached

    out = {}
    for name in ("naive (cache_memoize)", "perfkit"):
        runs = []

        def slow(x, runs=runs):
            runs.append(1)
            time.sleep(work)
            return x

        func = (
            cache_memoize(3600, cache_alias="redis")(slow)
            if name.startswith("naive")
            else cached(timeout=3600, cache="redis", early_refresh=False)(slow)
        )
        barrier = threading.Barrier(threads)

        def call(func=func, barrier=barrier):
            barrier.wait()
            func(1)

        workers = [threading.Thread(target=call) for _ in range(threads)]
        started = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        out[name] = {"runs": len(runs), "wall_ms": round((time.perf_counter() - started) * 1e3)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--entries", type=int, default=100_000)
    args = parser.parse_args()
    with private_redis("cache") as start:
        setup_django(start())
        import django
        import redis

        result = {
            "what": "median over rounds of the mean microseconds per hit; ratios side by side",
            "machine": {
                "python": platform.python_version(),
                "django": django.get_version(),
                "redis_py": redis.__version__,
                "cpus": os.cpu_count(),
                "pinned": 0,
            },
            "rounds": args.rounds,
            "ops_per_round": args.ops,
            "hit_path": hit_path(args.rounds, args.ops),
            "invalidation": invalidation(args.entries),
            "stampede": stampede(),
        }
    write_results(result, "cache")


if __name__ == "__main__":
    main()
