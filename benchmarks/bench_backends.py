"""Cache backends side by side: get/set latency as ratios to raw redis-py, and the outage cost.

    .venv/bin/python benchmarks/bench_backends.py [--rounds 15] [--ops 300]

This process and a private ``redis-server`` (no persistence, free port) are pinned to CPU 0: a
Redis round trip across CPUs adds 100-300 us of wake-up latency and measures the hypervisor.
Every backend is measured in every round, interleaved (round-robin), so all ratios come from the
same minutes of the same machine; the figure per backend is the median over rounds of the mean
per call.  PostgreSQL is used when it answers on 127.0.0.1:5432 (a private table, dropped after).
Writes ``benchmarks/results/backends.json`` (and ``bench_backends.json`` for run_all.py).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import write_results  # benchmarks/ is on sys.path when a script runs
from _redis import reachable, start_redis  # benchmarks/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VALUE = {
    "id": 42,
    "title": "The Left Hand of Darkness",
    "author": {"id": 7, "name": "Ursula K. Le Guin", "country": "US"},
    "tags": ["sf", "classic", "anthropology"],
    "rating": 4.6,
    "reviews": [{"user": n, "stars": 4 + n % 2, "text": "x" * 40} for n in range(3)],
}
# about 20 KB pickled (distinct strings: pickle would share repeated objects)
BIG_VALUE = {"rows": [{"id": n, "text": f"review {n} " * 30} for n in range(60)]}


class PgRouter:
    """Send the DatabaseCache tables named bench_pg_* to the "pg" database."""

    def db_for_read(self, model, **hints):
        return "pg" if model._meta.db_table.startswith("bench_pg_") else None

    db_for_write = db_for_read

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        model = hints.get("model")
        if model is None:
            return None
        return (db == "pg") == model._meta.db_table.startswith("bench_pg_")


def configure(port: int, tmp: str, pg: bool) -> dict[str, str]:
    """Django settings with one cache alias per contender; returns alias -> description."""
    import django
    from django.conf import settings

    from perfkit.backends import cache_url

    redis = f"redis://127.0.0.1:{port}/0"
    plain_options = {"SOCKET_CONNECT_TIMEOUT": 0.25, "SOCKET_TIMEOUT": 0.5}
    caches = {
        "locmem": cache_url("locmem://bench"),
        "db_sqlite": cache_url("db://bench_sqlite_cache"),
        "django_redis": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis,
            "OPTIONS": plain_options,
        },
        "django_redis_no_hiredis": {
            "BACKEND": "django_redis.cache.RedisCache",
            # database 1: its own pool (django-redis keys its pools by URL alone)
            "LOCATION": f"redis://127.0.0.1:{port}/1",
            "OPTIONS": {**plain_options, "PARSER_CLASS": "redis.connection._RESP2Parser"},
        },
        "perfkit_redis": cache_url(redis),
        "django_builtin": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis,
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5},
        },
        "perfkit_django_builtin": cache_url(redis + "?backend=django"),
        "tiered": {
            "BACKEND": "perfkit.backends.TieredCache",
            "LOCATION": "perfkit_redis",
            "OPTIONS": {"LOCAL_TIMEOUT": 60},
        },
    }
    names = {
        "locmem": "LocMemCache",
        "db_sqlite": "DatabaseCache, SQLite file",
        "django_redis": "django-redis RedisCache (hiredis)",
        "django_redis_no_hiredis": "django-redis RedisCache (pure-Python parser)",
        "perfkit_redis": "perfkit cache_url('redis://') (django-redis + breaker)",
        "django_builtin": "Django's built-in RedisCache",
        "perfkit_django_builtin": "perfkit cache_url('redis://?backend=django')",
        "tiered": "perfkit TieredCache over perfkit redis (local hit)",
    }
    databases = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": f"{tmp}/db.sqlite"}}
    if pg:
        databases["pg"] = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "postgres",
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": "5432",
        }
        caches["db_postgres"] = cache_url(f"db://bench_pg_{os.getpid()}")
        names["db_postgres"] = "DatabaseCache, PostgreSQL (loopback)"
    settings.configure(
        CACHES=caches,
        DATABASES=databases,
        DATABASE_ROUTERS=["__main__.PgRouter"],
        INSTALLED_APPS=[],
        USE_TZ=True,
        PERFKIT={"KEY_PREFIX": "bench"},
    )
    django.setup()
    from django.core.management import call_command

    for alias in databases:
        call_command("createcachetable", database=alias, verbosity=0)
    return names


def batch(call, ops: int) -> float:
    """Mean microseconds per call over ``ops`` calls."""
    start = time.perf_counter()
    for _ in range(ops):
        call()
    return (time.perf_counter() - start) / ops * 1e6


def contenders(port: int, names: dict[str, str]) -> dict[str, tuple]:
    import redis
    from django.core.cache import caches
    from redis.connection import _RESP2Parser

    raw = redis.Redis(host="127.0.0.1", port=port)
    raw_py = redis.Redis(
        connection_pool=redis.ConnectionPool(
            host="127.0.0.1", port=port, parser_class=_RESP2Parser
        )
    )
    blob = pickle.dumps(VALUE, pickle.HIGHEST_PROTOCOL)
    raw.set("raw", blob)
    table: dict[str, tuple] = {
        "raw_redis_py": (lambda: raw.get("raw"), lambda: raw.set("raw", blob)),
        "raw_redis_py_loads": (
            lambda: pickle.loads(raw.get("raw")),
            lambda: raw.set("raw", pickle.dumps(VALUE, pickle.HIGHEST_PROTOCOL)),
        ),
        "raw_redis_py_no_hiredis": (lambda: raw_py.get("raw"), lambda: raw_py.set("raw", blob)),
    }
    for alias in names:
        cache = caches[alias]
        cache.set("book", VALUE, 3600)
        assert cache.get("book") == VALUE, alias
        table[alias] = (
            lambda c=cache: c.get("book"),
            lambda c=cache: c.set("book", VALUE, 3600),
        )
    return table


def perfkit_reads(ops: int, rounds: int) -> dict[str, dict[str, float]]:
    """The read perfkit.cache makes: entry + 2 generation keys in one get_many."""
    from django.core.cache import caches

    out: dict[str, dict[str, float]] = {}
    keys = ["bench:c:entry", "bench:g:bookstore.book", "bench:g:bookstore.book:42"]
    for label, value in (("small", VALUE), ("20kb", BIG_VALUE)):
        for alias in ("perfkit_redis", "tiered"):
            caches[alias].set_many({keys[0]: value, keys[1]: "t1", keys[2]: "t2"}, 3600)
        samples: dict[str, list[float]] = {"perfkit_redis": [], "tiered": []}
        for _ in range(rounds):
            for alias in samples:
                cache = caches[alias]
                samples[alias].append(batch(lambda c=cache: c.get_many(keys), ops))
        out[label] = {alias: round(statistics.median(s), 2) for alias, s in samples.items()}
        out[label]["payload_bytes"] = len(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
    return out


def outage(server: subprocess.Popen, calls: int = 5) -> dict[str, float]:
    """Milliseconds per get while the server is frozen (SIGSTOP): plain django-redis vs perfkit."""
    from django.core.cache import caches

    plain, ours = caches["django_redis"], caches["perfkit_redis"]
    server.send_signal(signal.SIGSTOP)
    try:
        result = {}
        for label, cache in (("django_redis_timeouts_0.5s", plain), ("perfkit_redis", ours)):
            times = []
            for _ in range(calls):
                start = time.perf_counter()
                try:
                    cache.get("book")
                except Exception:  # plain django-redis raises; perfkit fails open
                    pass
                times.append((time.perf_counter() - start) * 1000)
            result[label] = {
                "first_ms": round(times[0], 3),
                "later_median_ms": round(statistics.median(times[1:]), 3),
            }
    finally:
        server.send_signal(signal.SIGCONT)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--ops", type=int, default=300)
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})
    tmp = tempfile.mkdtemp(prefix=f"perfkit-bench-backends-{os.getpid()}-")
    server, port = start_redis(tmp)
    pg = reachable(5432)
    try:
        names = configure(port, tmp, pg)
        table = contenders(port, names)
        samples = {name: {"get": [], "set": []} for name in table}
        for _ in range(args.rounds):
            for name, (get, put) in table.items():
                samples[name]["get"].append(batch(get, args.ops))
                samples[name]["set"].append(batch(put, args.ops))
        reads = perfkit_reads(args.ops, args.rounds)
        down = outage(server)
    finally:
        server.kill()
        if pg:
            from django.db import connections

            with connections["pg"].cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS bench_pg_{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
    median = {
        name: {op: round(statistics.median(v), 2) for op, v in ops.items()}
        for name, ops in samples.items()
    }
    base = median["raw_redis_py"]
    rows = {
        name: {
            "get_us": m["get"],
            "set_us": m["set"],
            "get_vs_raw": round(m["get"] / base["get"], 2),
            "set_vs_raw": round(m["set"] / base["set"], 2),
        }
        for name, m in median.items()
    }
    result = {
        "what": "median over rounds of the mean microseconds per call; ratios to raw redis-py",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "pinned": 0},
        "rounds": args.rounds,
        "ops_per_batch": args.ops,
        "postgres": pg,
        "backends": rows,
        "descriptions": names,
        "perfkit_read_get_many_us": reads,
        "outage": down,
        "plots": [
            {
                "file": "bench_backends_get.png",
                "title": "cache get, us per call (pinned, one run)",
                "kind": "barh",
                "xlabel": "median us per get",
                "bars": {name: row["get_us"] for name, row in rows.items()},
            }
        ],
    }
    write_results(result, "backends", echo=False)
    width = max(map(len, rows))
    print(f"{'backend':<{width}}  get us  x raw   set us  x raw")
    for name, row in sorted(rows.items(), key=lambda item: item[1]["get_us"]):
        print(
            f"{name:<{width}}  {row['get_us']:6.1f}  {row['get_vs_raw']:5.2f}   "
            f"{row['set_us']:6.1f}  {row['set_vs_raw']:5.2f}"
        )
    print("perfkit read (entry + 2 generations, get_many):", json.dumps(reads))
    print("outage (server frozen):", json.dumps(down))


if __name__ == "__main__":
    main()
