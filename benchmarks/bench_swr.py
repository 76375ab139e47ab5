"""Stale-while-revalidate under load: how many callers wait, how many times the function runs.

    .venv/bin/python benchmarks/bench_swr.py [--rounds 5] [--calls 200] [--seconds 2]

The scenario of issue 14: a ``@cached(timeout=1, stale=60)`` function that takes 200 ms, its
entry just past its timeout; 4 threads issue ``--calls`` calls spread evenly over ``--seconds``
seconds.  Per contender it counts the calls that waited (took longer than ``--wait-ms``, 100 ms
by default: a stale serve takes a millisecond, a computation 200 ms) and how many times the
function ran (the seeding call excluded; refreshes still running when the calls end are waited
for and counted).  Contenders, measured in interleaved rounds (median):

- ``perfkit_in_request``: ``PERFKIT["REFRESH_THREADS"] = 0``, no Celery: the caller that wins
  the single-flight lock refreshes in its own request (perfkit's behaviour before issue 14);
- ``perfkit_thread``: the in-process background refresher (``REFRESH_THREADS`` = 1), no Celery;
- ``perfkit_celery``: Celery's ``perfkit.refresh`` through one real worker (solo pool,
  concurrency 1) on a private ``redis-server`` (broker, results and cache);
- ``cacheback``: django-cacheback's ``Job`` (``lifetime=1``) through the same worker, when
  ``cacheback`` is importable (it is not a perfkit dependency: put it on PYTHONPATH, e.g.
  ``pip install --target /tmp/cb --no-deps django-cacheback`` and ``PYTHONPATH=/tmp/cb``).

This process and the redis-server are pinned to CPU 0.  Writes ``benchmarks/results/swr.json``
(and ``bench_swr.json`` for run_all.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import write_results  # benchmarks/ is on sys.path when a script runs
from _redis import start_redis  # benchmarks/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUEUE = f"bench-swr-{os.getpid()}"
TIMEOUT = 1.0
STALE = 60.0
COMPUTE = 0.2

try:
    import cacheback  # noqa: F401

    HAVE_CACHEBACK = True
except ImportError:
    HAVE_CACHEBACK = False


def setup_django(port: int) -> None:
    import django
    from django.conf import settings

    apps = ["django.contrib.contenttypes", "django.contrib.auth", "perfkit"]
    settings.configure(
        INSTALLED_APPS=[*apps, "cacheback"] if HAVE_CACHEBACK else apps,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        CACHES={
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{port}/1",
            }
        },
        PERFKIT={"KEY_PREFIX": "bench", "WARMING_QUEUE": QUEUE},
        CACHEBACK_TASK_QUEUE="celery",
        TIME_ZONE="UTC",
        USE_TZ=True,
        LOGGING_CONFIG=None,
    )
    django.setup()


# executions of each contender's function, from any thread (requests, refresher, worker)
runs: dict[str, int] = {}
_runs_lock = threading.Lock()


def slow(name: str) -> int:
    """The 200 ms function every contender caches (sleeps: it needs no CPU)."""
    time.sleep(COMPUTE)
    with _runs_lock:
        runs[name] = runs.get(name, 0) + 1
        return runs[name]


def load(call: Callable[[], Any], opts: argparse.Namespace) -> list[float]:
    """``opts.calls`` calls from 4 threads, evenly spread over ``opts.seconds``; their times."""
    threads = 4
    per_thread = opts.calls // threads
    interval = opts.seconds / per_thread
    elapsed: list[float] = []
    barrier = threading.Barrier(threads)

    def worker(offset: float) -> None:
        barrier.wait()
        start = time.monotonic()
        for i in range(per_thread):
            target = start + offset + i * interval
            delay = target - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            began = time.perf_counter()
            call()
            spent = time.perf_counter() - began
            with _runs_lock:
                elapsed.append(spent)

    pool = [
        threading.Thread(target=worker, args=(n * interval / threads,)) for n in range(threads)
    ]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return elapsed


def measure_load(
    name: str, call: Callable[[], Any], settle: Callable[[], bool], opts: argparse.Namespace
) -> dict[str, Any]:
    """Run the load on ``call``; wait for its refreshes; count waits and executions."""
    before = runs.get(name, 0)
    elapsed = load(call, opts)
    deadline = time.monotonic() + 30
    while not settle() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(COMPUTE + 0.05)  # a refresh that started as the load ended
    return {
        "waits": sum(1 for s in elapsed if s > opts.wait_ms / 1000),
        "recomputes": runs.get(name, 0) - before,
        "p50_ms": statistics.median(elapsed) * 1000,
        "max_ms": max(elapsed) * 1000,
    }


def run(port: int, opts: argparse.Namespace) -> dict[str, dict[str, list[float]]]:
    from celery import Celery
    from celery.contrib.testing.worker import start_worker
    from django.test import override_settings

    from perfkit.cache import cached, set_background_refresher
    from perfkit.warming import configure_celery
    from perfkit.warming.refresh import enqueue_refresh

    app = Celery("bench_swr", set_as_current=True)
    app.conf.update(
        broker_url=f"redis://127.0.0.1:{port}/0", result_backend=f"redis://127.0.0.1:{port}/0"
    )
    configure_celery(app)

    funcs = {}
    for mode in ("perfkit_in_request", "perfkit_thread", "perfkit_celery"):

        def compute(mode: str = mode) -> int:
            return slow(mode)

        funcs[mode] = cached(timeout=TIMEOUT, stale=STALE, name=f"bench.swr.{mode}")(compute)

    def perfkit_mode(mode: str, threads: int, celery: bool) -> Callable[[], dict[str, Any]]:
        func = funcs[mode]

        def measure() -> dict[str, Any]:
            set_background_refresher(enqueue_refresh if celery else None)
            perfkit = {"KEY_PREFIX": "bench", "WARMING_QUEUE": QUEUE, "REFRESH_THREADS": threads}
            with override_settings(PERFKIT=perfkit):
                func.invalidate()
                func()  # seed
                time.sleep(TIMEOUT + 0.05)  # just past its timeout, well within stale
                return measure_load(mode, func, lambda: settle_lock(func), opts)

        return measure

    def settle_lock(func: Any) -> bool:
        """True once no refresh of ``func`` is pending (neither lock is held)."""
        from django.core.cache import cache

        key = func.key_for()
        return cache.get(key + ":lock") is None and cache.get(f"bench:warm:refresh:{key}") is None

    modes: dict[str, Callable[[], dict[str, Any]]] = {
        "perfkit_in_request": perfkit_mode("perfkit_in_request", 0, False),
        "perfkit_thread": perfkit_mode("perfkit_thread", 1, False),
        "perfkit_celery": perfkit_mode("perfkit_celery", 1, True),
    }
    if HAVE_CACHEBACK:
        modes["cacheback"] = cacheback_mode(opts)

    results: dict[str, dict[str, list[float]]] = {name: {} for name in modes}
    with start_worker(
        app, pool="solo", concurrency=1, perform_ping_check=False, queues=[QUEUE, "celery"],
        loglevel="ERROR",
    ):  # fmt: skip
        for round_no in range(opts.rounds):
            for name, mode in modes.items():
                row = mode()
                for field, value in row.items():
                    results[name].setdefault(field, []).append(value)
                print(
                    f"round {round_no + 1} {name:<20} waits {row['waits']:3d}  "
                    f"recomputes {row['recomputes']:2d}  p50 {row['p50_ms']:6.2f} ms  "
                    f"max {row['max_ms']:6.1f} ms",
                    flush=True,
                )
    return results


def cacheback_mode(opts: argparse.Namespace) -> Callable[[], dict[str, Any]]:
    from cacheback.base import Job

    class SlowJob(Job):
        lifetime = int(TIMEOUT)
        cache_ttl = int(STALE)

        def fetch(self) -> int:
            return slow("cacheback")

    SlowJob.__module__ = "__main__"
    sys.modules["__main__"].SlowJob = SlowJob  # type: ignore[attr-defined]
    job = SlowJob()

    def settle() -> bool:
        return True  # cacheback has no lock to look at: the fixed pause below covers it

    def measure() -> dict[str, Any]:
        job.cache.delete(job.key())
        job.get()  # seed (a miss fetches synchronously by default)
        time.sleep(TIMEOUT + 0.05)
        return measure_load("cacheback", job.get, settle, opts)

    return measure


def report(results: dict[str, dict[str, list[float]]], opts: argparse.Namespace) -> None:
    import celery
    import django
    import redis

    rows = []
    for name, fields in results.items():
        rows.append(
            {
                "contender": name,
                "waits_median": statistics.median(fields["waits"]),
                "recomputes_median": statistics.median(fields["recomputes"]),
                "p50_ms_median": round(statistics.median(fields["p50_ms"]), 2),
                "max_ms_median": round(statistics.median(fields["max_ms"]), 1),
                "waits_per_round": fields["waits"],
                "recomputes_per_round": fields["recomputes"],
            }
        )
    print(
        f"\nSWR: {opts.calls} calls from 4 threads over {opts.seconds} s, entry just past "
        f"timeout={TIMEOUT} s (stale={STALE} s), {COMPUTE * 1000:.0f} ms function, "
        f"wait = call > {opts.wait_ms} ms; median of {opts.rounds} interleaved rounds"
    )
    print(f"{'contender':<20} {'waits':>6} {'recomputes':>11} {'p50 ms':>8} {'max ms':>8}")
    for row in rows:
        print(
            f"{row['contender']:<20} {row['waits_median']:>6} {row['recomputes_median']:>11} "
            f"{row['p50_ms_median']:>8.2f} {row['max_ms_median']:>8.1f}"
        )
    out = {
        "benchmark": "swr",
        "calls": opts.calls,
        "threads": 4,
        "seconds": opts.seconds,
        "timeout": TIMEOUT,
        "stale": STALE,
        "compute_seconds": COMPUTE,
        "wait_ms": opts.wait_ms,
        "rounds": opts.rounds,
        "worker": "one in-process worker thread, solo pool, concurrency 1, prefetch 1",
        "pinned_cpu": 0 if hasattr(os, "sched_setaffinity") else None,
        "results": rows,
        "versions": {
            "python": platform.python_version(),
            "django": django.get_version(),
            "celery": celery.__version__,
            "redis-py": redis.__version__,
        },
    }
    write_results(out, "swr", echo=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--wait-ms", type=float, default=100.0)
    opts = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    with tempfile.TemporaryDirectory(prefix="perfkit-bench-swr-") as tmp:
        server, port = start_redis(tmp)
        try:
            setup_django(port)
            report(run(port, opts), opts)
        finally:
            server.terminate()
            server.wait(timeout=10)
    # Celery's result listener would try to reconnect to the stopped server at interpreter exit
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
