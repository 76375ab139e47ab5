"""Warming throughput through one real Celery worker: perfkit's chunks vs one task per key.

    .venv/bin/python benchmarks/bench_warming.py [--keys 10000] [--rounds 3] [--chunk 100]
                                                 [--skip-naive]

Four ways to fill the same 10,000 ``@cached`` entries, each through the same worker (one
thread, solo pool, prefetch 1 as ``configure_celery`` sets it) on a private ``redis-server``
(broker, results and cache), measured in interleaved rounds (median):

- ``perfkit``: ``warm(name)``: plans in the worker, chunks of ``--chunk`` calls, each chunk
  takes its lock, reads its generations, computes its calls and stores their envelopes in one
  batch, then releases the lock and counts its progress;
- ``chunked_per_key_set``: the same chunks, but each call stored with its own ``set``
  (``wrapper.refresh``), to show what ``set_many`` itself buys;
- ``hand_written``: what a user writes by hand: a plain Celery task per chunk of ``--chunk``
  numbers computing each value with the same function body and storing plain values (no
  envelopes, no generations, no locks, no progress) with ONE ``cache.set_many``; the
  yardstick of issue 14 (perfkit >= 0.8x its keys/s);
- ``naive``: one Celery task per key calling ``wrapper.refresh(n)`` (the usual recipe).

Keys per second = keys / seconds from the first enqueue until every key is stored.  This
process and the redis-server are pinned to CPU 0 (else a round trip measures the hypervisor).
The headline ratio is perfkit / hand_written keys/s, per round (the two ran side by side in
it), median of the rounds; with ``--skip-naive`` only those two run.  Since CPU 0 is shared
with whatever else the machine runs, the CPU seconds of this process plus the redis-server's
are recorded too, and their ratio printed as a load-independent check.
Writes ``benchmarks/results/warming.json`` (and ``bench_warming.json`` for run_all.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import write_results  # benchmarks/ is on sys.path when a script runs
from _redis import start_redis  # benchmarks/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUEUE = f"bench-warming-{os.getpid()}"


def setup_django(port: int) -> None:
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "perfkit"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        CACHES={
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{port}/1",
            }
        },
        PERFKIT={"KEY_PREFIX": "bench", "WARMING_QUEUE": QUEUE},
        TIME_ZONE="UTC",
        USE_TZ=True,
        LOGGING_CONFIG=None,
    )
    django.setup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument(
        "--skip-naive",
        action="store_true",
        help="only perfkit and hand_written (quicker; the ratio that matters)",
    )
    opts = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    with tempfile.TemporaryDirectory(prefix="perfkit-bench-warming-") as tmp:
        server, port = start_redis(tmp)
        try:
            setup_django(port)
            report(*run(port, opts, server.pid), opts)
        finally:
            server.terminate()
            server.wait(timeout=10)
    # Celery's result listener would try to reconnect to the stopped server at interpreter exit
    sys.stdout.flush()
    os._exit(0)


def cpu_seconds(server_pid: int | None) -> float:
    """CPU time of this process (client and worker threads) plus the redis-server's.

    Everything runs on CPU 0, so wall time also counts whatever else the machine runs there;
    CPU time does not, and gives a second, load-independent ratio.
    """
    own = os.times()
    total = own.user + own.system
    if server_pid is not None:
        try:
            fields = Path(f"/proc/{server_pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            pass
    return total


def run(
    port: int, opts: argparse.Namespace, server_pid: int | None = None
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    import redis
    from celery import Celery
    from celery.contrib.testing.worker import start_worker
    from django.core.cache import cache

    from perfkit.cache import cached
    from perfkit.warming import configure_celery, warm, warmer

    app = Celery("bench_warming", set_as_current=True)
    app.conf.update(
        broker_url=f"redis://127.0.0.1:{port}/0", result_backend=f"redis://127.0.0.1:{port}/0"
    )
    configure_celery(app)
    client = redis.Redis(port=port, db=0)
    cache_db = redis.Redis(port=port, db=1)

    def product_value(n: int) -> dict:
        return {"id": n, "name": f"product {n}", "price": n % 997 / 10, "tags": ["a", "b"]}

    product = cached(timeout=3600)(product_value)

    warmer(product, name="bench.products", args=lambda: range(opts.keys), chunk_size=opts.chunk)

    @app.task(name="bench.naive_refresh", ignore_result=True)
    def naive_refresh(n: int) -> None:
        product.refresh(n)
        client.incr("bench:done")

    @app.task(name="bench.chunk_refresh", ignore_result=True)
    def chunk_refresh(ns: list[int]) -> None:
        for n in ns:
            product.refresh(n)
        client.incr("bench:done", len(ns))

    @app.task(name="bench.hand_written", ignore_result=True)
    def hand_written_chunk(ns: list[int]) -> None:
        # what a user writes by hand: compute, one set_many of plain values (no envelopes,
        # no generations, no locks, no progress)
        cache.set_many({f"bench:c:hand:{n}": product_value(n) for n in ns}, timeout=3600)
        client.incr("bench:done", len(ns))

    def wait_done() -> None:
        while int(client.get("bench:done") or 0) < opts.keys:
            time.sleep(0.005)

    def perfkit_mode() -> None:
        summary = warm("bench.products", wait=True, timeout=600)
        assert summary["stored"] == opts.keys, summary

    def chunked_per_key_set() -> None:
        for start in range(0, opts.keys, opts.chunk):
            ns = list(range(start, min(start + opts.chunk, opts.keys)))
            chunk_refresh.apply_async((ns,), queue=QUEUE)
        wait_done()

    def hand_written() -> None:
        for start in range(0, opts.keys, opts.chunk):
            ns = list(range(start, min(start + opts.chunk, opts.keys)))
            hand_written_chunk.apply_async((ns,), queue=QUEUE)
        wait_done()

    def naive() -> None:
        for n in range(opts.keys):
            naive_refresh.apply_async((n,), queue=QUEUE)
        wait_done()

    modes = {
        "perfkit": perfkit_mode,
        "hand_written": hand_written,
        "chunked_per_key_set": chunked_per_key_set,
        "naive": naive,
    }
    if opts.skip_naive:
        del modes["naive"], modes["chunked_per_key_set"]
    seconds: dict[str, list[float]] = {name: [] for name in modes}
    cpu: dict[str, list[float]] = {name: [] for name in modes}
    with start_worker(
        app, pool="solo", perform_ping_check=False, queues=[QUEUE], loglevel="ERROR"
    ):
        for round_no in range(opts.rounds):
            for name, mode in modes.items():
                cache_db.flushdb()  # the private server's cache DB: start every run cold
                client.set("bench:done", 0)
                cpu_started = cpu_seconds(server_pid)
                started = time.perf_counter()
                mode()
                seconds[name].append(time.perf_counter() - started)
                cpu[name].append(cpu_seconds(server_pid) - cpu_started)
                stored = sum(1 for _ in cache_db.scan_iter(match="*bench:c:*", count=5000))
                assert stored == opts.keys, (name, stored)
                print(
                    f"round {round_no + 1} {name:<22} {seconds[name][-1]:7.2f} s "
                    f"(cpu {cpu[name][-1]:5.2f} s)",
                    flush=True,
                )
    return seconds, cpu


def report(
    seconds: dict[str, list[float]], cpu: dict[str, list[float]], opts: argparse.Namespace
) -> None:
    import celery
    import django
    import redis

    median = {name: statistics.median(values) for name, values in seconds.items()}
    rate = {name: opts.keys / s for name, s in median.items()}
    hand = rate["hand_written"]
    naive = rate.get("naive")
    rows = [
        {
            "mode": name,
            "median_seconds": round(median[name], 3),
            "keys_per_second": round(rate[name], 1),
            "vs_hand_written": round(rate[name] / hand, 2),
            "vs_naive": round(rate[name] / naive, 2) if naive else None,
            "seconds_per_round": [round(s, 3) for s in seconds[name]],
            "median_cpu_seconds": round(statistics.median(cpu[name]), 3),
        }
        for name in seconds
    ]
    # the goal of issue 14: perfkit's keys/s over the hand-written chunks' keys/s, per round
    # (both measured side by side in that round) and its median
    per_round = [
        round(h / p, 3) for p, h in zip(seconds["perfkit"], seconds["hand_written"], strict=True)
    ]
    ratio = statistics.median(per_round)
    cpu_ratio = statistics.median(cpu["hand_written"]) / statistics.median(cpu["perfkit"])
    print(f"\nwarming {opts.keys} keys through one worker (solo, prefetch 1), chunk={opts.chunk}")
    print(f"{'mode':<22} {'median s':>9} {'keys/s':>9} {'vs hand':>8} {'vs naive':>9}")
    for row in rows:
        vs_naive = f"{row['vs_naive']:>8.2f}x" if row["vs_naive"] is not None else f"{'-':>9}"
        print(
            f"{row['mode']:<22} {row['median_seconds']:>9.2f} {row['keys_per_second']:>9.0f} "
            f"{row['vs_hand_written']:>7.2f}x {vs_naive}"
        )
    print(f"perfkit / hand_written keys/s: {ratio:.2f} (median of rounds {per_round})")
    print(f"perfkit / hand_written keys per CPU second (process + redis-server): {cpu_ratio:.2f}")
    out = {
        "benchmark": "warming",
        "keys": opts.keys,
        "rounds": opts.rounds,
        "chunk_size": opts.chunk,
        "worker": "one in-process worker thread, solo pool, prefetch 1",
        "pinned_cpu": 0 if hasattr(os, "sched_setaffinity") else None,
        "results": rows,
        "perfkit_vs_hand_written": {
            "median": round(ratio, 3),
            "per_round": per_round,
            "per_cpu_second": round(cpu_ratio, 3),
        },
        "versions": {
            "python": platform.python_version(),
            "django": django.get_version(),
            "celery": celery.__version__,
            "redis-py": redis.__version__,
        },
    }
    write_results(out, "warming", echo=False)


if __name__ == "__main__":
    main()
