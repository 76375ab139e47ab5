"""Redis Cluster vs one Redis: an @cached hit and a model invalidation, as ratios.

    .venv/bin/python benchmarks/bench_cluster.py [--rounds 10] [--ops 500]

Starts one private redis-server and a private 3-master Redis Cluster (no persistence), all pinned
to CPU 0 with this benchmark's processes (across CPUs a round trip gains 100-300 us of wake-up
latency).  Each round runs one child process per setup ("single": cache_url("redis://..."),
"cluster": cache_url("redis+cluster://...")), alternating, so both are measured in the same
minutes; the figure per setup is the median over rounds of the mean per call.  A hit is an
@cached(depends_on=[Author]) call whose entry and generation key live in different slots (one
pipelined round trip per node on the cluster); an invalidation is ``invalidate(Author)``.
Writes ``benchmarks/results/cluster.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import write_results  # benchmarks/ is on sys.path when a script runs
from _redis import pin, private_redis  # benchmarks/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
ALONE = ("--cluster-replicas", "0", "--cluster-yes")  # three masters, no replicas


def child(url: str, ops: int) -> dict[str, float]:
    """Measure in this process (configured for ``url``): mean microseconds per call."""
    pin()
    sys.path.insert(0, str(ROOT))
    import django
    from django.conf import settings

    from perfkit.backends import cache_url

    settings.configure(
        SECRET_KEY="bench",
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "perfkit",
            "demo_project.bookstore",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        CACHES={"default": cache_url(url, key_prefix="bench")},
    )
    django.setup()
    from demo_project.bookstore.models import Author
    from perfkit.cache import cached, invalidate

    @cached(depends_on=[Author], timeout=600)
    def label(n: int) -> str:
        return f"author page {n}"

    label(1)
    for _ in range(50):  # warm the connections
        label(1)
        invalidate(Author)
        label(1)
    start = time.perf_counter()
    for _ in range(ops):
        label(1)
    hit = (time.perf_counter() - start) / ops * 1e6
    start = time.perf_counter()
    for _ in range(ops):
        invalidate(Author)
    bump = (time.perf_counter() - start) / ops * 1e6
    return {"hit_us": hit, "invalidate_us": bump}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--ops", type=int, default=500)
    parser.add_argument("--child", nargs=2, metavar=("URL", "OPS"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return
    with private_redis("cluster") as start:
        port = start()
        ports = [31000 + n for n in range(3)]
        for node in ports:
            start(
                node, ["--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{node}.conf"]
            )
        subprocess.run(
            ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports), *ALONE],
            check=True,
            capture_output=True,
        )
        time.sleep(2)  # gossip settles (cluster_state:ok)
        urls = {
            "single": f"redis://127.0.0.1:{port}/0",
            "cluster": "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in ports),
        }
        per_round: dict[str, list[dict[str, float]]] = {name: [] for name in urls}
        for _ in range(args.rounds):
            for name, url in urls.items():
                done = subprocess.run(
                    [sys.executable, __file__, "--child", url, str(args.ops)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                per_round[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    result: dict[str, object] = {
        name: {
            metric: round(statistics.median(r[metric] for r in rounds), 1)
            for metric in ("hit_us", "invalidate_us")
        }
        for name, rounds in per_round.items()
    }
    single_r, cluster_r = result["single"], result["cluster"]
    assert isinstance(single_r, dict)
    assert isinstance(cluster_r, dict)
    result["ratio"] = {m: round(cluster_r[m] / single_r[m], 2) for m in single_r}
    result["setup"] = {
        "rounds": args.rounds,
        "ops": args.ops,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    write_results(result, "cluster")


if __name__ == "__main__":
    main()
