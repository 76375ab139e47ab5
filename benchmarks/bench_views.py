"""A cached view hit: perfkit ``@cached_view`` vs Django's ``cache_page`` vs no cache.

    .venv/bin/python benchmarks/bench_views.py [--rounds 9] [--ops 2000] [--no-redis]
                                               [--baseline OLD_CHECKOUT [--pairs 3]]

The view reads ten rows with one query and returns them as JSON.  Each contender is the view
callable called with a request from ``RequestFactory`` (built before the timed loop, so neither
the factory nor a middleware stack is measured): the uncached view, ``cache_page(3600)`` and
``@cached_view(3600, query=[])``, on local memory and (unless ``--no-redis``) on django-redis
against a private redis-server.  Every contender runs in every round, interleaved, so the ratios
come from the same minutes; the figure is the median over rounds of the mean per call.  Two
settings are measured, each in its own child process: Django's defaults (``USE_I18N`` and
``USE_TZ`` on: the language and time zone are in both caches' keys) and both off.  This process,
its children and the private redis-server are pinned to CPU 0.  Writes
``benchmarks/results/views.json``.

``--baseline DIR`` (a checkout of an older perfkit, e.g. ``git worktree add /tmp/old v0.9``)
measures that perfkit too: per setting, ``--pairs`` child processes of each checkout alternate
(new, old, new, old, ...).  Absolute times of two processes on a shared machine differ by up to
30% with the same code, so before/after compares the ratios each child measured side by side
(``@cached_view`` hit / ``cache_page`` hit): "ratios now / baseline" < 1 means faster.
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
MODES = {"i18n+tz on": True, "i18n+tz off": False}


def setup_django(port: int | None, locale: bool, root: Path = ROOT) -> None:
    sys.path.insert(0, str(root))
    import django
    from django.conf import settings

    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }
    if port is not None:
        caches["redis"] = {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
        }
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench",
        ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "perfkit",
            "demo_project.bookstore",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        CACHES=caches,
        PERFKIT={"KEY_PREFIX": "bench", "XFETCH_BETA": 0.0},
        USE_I18N=locale,
        USE_TZ=locale,
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, run_syncdb=True)


def per_call_us(view, requests) -> float:
    started = time.perf_counter()
    for request in requests:
        view(request)
    return (time.perf_counter() - started) / len(requests) * 1e6


def child(port: int | None, locale: bool, rounds: int, ops: int, root: Path) -> dict[str, float]:
    """Measure in this process: the median over rounds of the mean microseconds per call."""
    pin()
    setup_django(port, locale, root)
    from django.http import JsonResponse
    from django.test import RequestFactory
    from django.views.decorators.cache import cache_page

    from demo_project.bookstore.models import Author
    from perfkit.cache import cached_view

    Author.objects.bulk_create(Author(name=f"Author {n}", country="NZ") for n in range(10))

    def authors(request):
        return JsonResponse({"authors": list(Author.objects.values("id", "name", "country"))})

    contenders = {"uncached view": authors}
    for alias in ("default", "redis") if port is not None else ("default",):
        name = "locmem" if alias == "default" else "redis"
        contenders[f"{name}: cache_page hit"] = cache_page(3600, cache=alias)(authors)
        contenders[f"{name}: @cached_view hit"] = cached_view(3600, query=[], cache=alias)(authors)
    factory = RequestFactory()
    expected = authors(factory.get("/authors/")).content
    for view in contenders.values():
        for _ in range(3):  # store, then two hits
            assert view(factory.get("/authors/")).content == expected
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for view in contenders.values():  # warm-up
        per_call_us(view, [factory.get("/authors/") for _ in range(ops // 10)])
    for _ in range(rounds):
        for name, view in contenders.items():
            requests = [factory.get("/authors/") for _ in range(ops)]
            samples[name].append(per_call_us(view, requests))
    return {name: round(statistics.median(values), 2) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--no-redis", action="store_true")
    parser.add_argument("--baseline", type=Path, help="a checkout of an older perfkit")
    parser.add_argument("--pairs", type=int, default=3, help="child pairs with --baseline")
    parser.add_argument(
        "--child", nargs=3, metavar=("PORT", "LOCALE", "ROOT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        port, locale, root = int(args.child[0]) or None, args.child[1] == "1", Path(args.child[2])
        print(json.dumps(child(port, locale, args.rounds, args.ops, root)))
        return
    roots = {"now": ROOT}
    if args.baseline is not None:
        roots["baseline"] = args.baseline.resolve()
    pairs = args.pairs if args.baseline is not None else 1
    runs: dict[str, dict[str, list[dict[str, float]]]] = {k: {} for k in roots}
    with private_redis("views") as start:
        port = 0 if args.no_redis else start()
        for mode, locale in MODES.items():
            for _ in range(pairs):
                for which, root in roots.items():
                    command = [sys.executable, __file__, "--child", str(port), str(int(locale))]
                    command += [str(root), "--rounds", str(args.rounds), "--ops", str(args.ops)]
                    done = subprocess.run(command, capture_output=True, text=True, check=False)
                    if done.returncode:
                        sys.exit(f"bench_views child ({which}, {mode}) failed:\n{done.stderr}")
                    found = json.loads(done.stdout.strip().splitlines()[-1])
                    runs[which].setdefault(mode, []).append(found)
    import django

    def merged(children: list[dict[str, float]]) -> dict[str, float]:
        return {k: round(statistics.median(c[k] for c in children), 2) for k in children[0]}

    def ratios_of(children: list[dict[str, float]]) -> dict[str, float]:
        # per child (same minutes), then the median over children: a machine slowed down by
        # its neighbours slows both sides of a ratio
        out: dict[str, list[float]] = {}
        for found in children:
            for cache in ("locmem", "redis"):
                mine = found.get(f"{cache}: @cached_view hit")
                if mine is None:
                    continue
                for other in (f"{cache}: cache_page hit", "uncached view"):
                    name = f"{cache}: @cached_view / {other.split(': ')[-1].removesuffix(' hit')}"
                    out.setdefault(name, []).append(mine / found[other])
        return {name: round(statistics.median(values), 3) for name, values in out.items()}

    medians = {mode: merged(children) for mode, children in runs["now"].items()}
    ratios = {mode: ratios_of(children) for mode, children in runs["now"].items()}
    result: dict[str, object] = {
        "what": "median over rounds of the mean microseconds per view call (RequestFactory)",
        "median_us_per_call": medians,
        "ratios": ratios,
        "setup": {
            "rounds": args.rounds,
            "ops": args.ops,
            "pairs": pairs,
            "python": platform.python_version(),
            "django": django.get_version(),
            "cpus": os.cpu_count(),
            "pinned": 0,
        },
    }
    if args.baseline is not None:
        old = {mode: ratios_of(children) for mode, children in runs["baseline"].items()}
        result["baseline"] = {
            "checkout": str(args.baseline),
            "median_us_per_call": {m: merged(c) for m, c in runs["baseline"].items()},
            "ratios": old,
            # the hit's cost relative to cache_page's (or the view's), new over old: < 1 is faster
            "ratios now / baseline": {
                mode: {name: round(r / old[mode][name], 2) for name, r in by_name.items()}
                for mode, by_name in ratios.items()
            },
        }
    write_results(result, "views")


if __name__ == "__main__":
    main()
