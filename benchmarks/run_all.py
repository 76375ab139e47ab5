"""Run every head-to-head benchmark in one go, then draw their plots.

    .venv/bin/python benchmarks/run_all.py            # everything (a few minutes)
    .venv/bin/python benchmarks/run_all.py cache capture   # only bench_cache*.py, bench_capture.py

Each ``benchmarks/bench_*.py`` runs in its own process and writes
``benchmarks/results/<script>.json``; its output goes to ``results/<script>.log``.  Then the demo
is benchmarked with ``manage.py perfkit_bench`` (a private SQLite file, ``--no-demo`` skips it).
Every result file becomes PNG plots (see README.md for the format) and ``results/summary.md``
collects the figures.  Expected scripts that do not exist are named, and make the exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
# script -> what it compares (the scripts other parts of perfkit own)
EXPECTED = {
    "bench_cache.py": "perfkit.cache hit path vs cache.get / django-cache-memoize / cacheops, "
    "invalidation cost, stampede",
    "bench_backends.py": "perfkit.backends: fail-fast and circuit breaker vs plain django-redis",
    "bench_capture.py": "perfkit.testing capture overhead vs CaptureQueriesContext",
    "bench_warming.py": "perfkit.warming throughput",
    "bench_swr.py": "stale-while-revalidate waits and recomputes",
    "bench_views.py": "@cached_view hit vs cache_page",
}


def run_script(script: Path, timeout: float) -> dict[str, Any]:
    """Run one benchmark script; its output goes to results/<name>.log."""
    log = RESULTS / f"{script.stem}.log"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        output, status = done.stdout + done.stderr, "ok" if done.returncode == 0 else "failed"
        detail = "" if done.returncode == 0 else f"exit status {done.returncode}"
    except subprocess.TimeoutExpired as exc:
        output = (
            (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        )
        status, detail = "failed", f"timed out after {timeout:g} s"
    log.write_text(output, encoding="utf-8")
    result = RESULTS / f"{script.stem}.json"
    if status == "ok" and not result.exists():
        status, detail = "failed", f"wrote no {result.relative_to(ROOT)}"
    return {
        "script": script.name,
        "status": status,
        "detail": detail,
        "seconds": round(time.perf_counter() - start, 1),
        "output": output,
    }


def run_demo(timeout: float) -> dict[str, Any]:
    """Seed the demo into a private SQLite file and run perfkit_bench on it."""
    with tempfile.TemporaryDirectory(prefix="perfkit-run-all-") as tmp:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "demo_project.settings",
            "DATABASE_URL": f"sqlite:///{tmp}/demo.sqlite3",
        }
        manage = [sys.executable, str(ROOT / "manage.py")]
        steps = [
            ["migrate", "--noinput", "-v0"],
            ["seed_demo", "--books", "2000"],
            [
                "perfkit_bench",
                "--json",
                str(RESULTS / "perfkit_bench.json"),
                "--markdown",
                str(RESULTS / "perfkit_bench.md"),
            ],
        ]
        start, output, status, detail = time.perf_counter(), "", "ok", ""
        for step in steps:
            done = subprocess.run(
                manage + step, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
            )
            output += done.stdout + done.stderr
            if done.returncode != 0:
                status, detail = "failed", f"manage.py {step[0]}: exit status {done.returncode}"
                break
    (RESULTS / "perfkit_bench.log").write_text(output, encoding="utf-8")
    return {
        "script": "manage.py perfkit_bench (demo)",
        "status": status,
        "detail": detail,
        "seconds": round(time.perf_counter() - start, 1),
        "output": output,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("only", nargs="*", help="Run only bench_<name>*.py for these names.")
    parser.add_argument("--no-demo", action="store_true", help="Skip perfkit_bench on the demo.")
    parser.add_argument("--no-plots", action="store_true", help="Do not draw PNG plots.")
    parser.add_argument("--timeout", type=float, default=900, help="Seconds per script.")
    args = parser.parse_args(argv)

    RESULTS.mkdir(exist_ok=True)
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.only:
        scripts = [s for s in scripts if any(s.stem.startswith(f"bench_{n}") for n in args.only)]
    missing = [name for name in EXPECTED if not (HERE / name).exists()]
    runs = []
    for script in scripts:
        print(f"running {script.name} ...", flush=True)
        runs.append(run_script(script, args.timeout))
        _print_run(runs[-1])
    if not args.no_demo and not args.only:
        print("running manage.py perfkit_bench on the demo ...", flush=True)
        runs.append(run_demo(args.timeout))
        _print_run(runs[-1])
    plots: list[str] = []
    if not args.no_plots:
        from benchmarks.plots import plot_all

        try:
            plots = plot_all(RESULTS)
        except ImportError as exc:  # matplotlib comes with the dev extra, not the test extra
            print(f"plots not drawn: {exc} (pip install -e '.[dev]')")
        for path in plots:
            print(f"plot {path}")
    write_summary(runs, missing, plots)
    for name in missing:
        print(f"MISSING benchmarks/{name} ({EXPECTED[name]}): not run")
    failed = [r for r in runs if r["status"] != "ok"]
    print(
        f"{len(runs) - len(failed)} of {len(runs)} benchmarks ran, {len(failed)} failed, "
        f"{len(missing)} expected script(s) missing; summary in "
        f"{(RESULTS / 'summary.md').relative_to(ROOT)}"
    )
    return 1 if failed or missing else 0


def _print_run(run: dict[str, Any]) -> None:
    extra = f" ({run['detail']})" if run["detail"] else ""
    print(f"  {run['status']}: {run['script']} in {run['seconds']} s{extra}", flush=True)
    if run["status"] != "ok":
        tail = run["output"].strip().splitlines()[-15:]
        print("    " + "\n    ".join(tail))


def write_summary(runs: list[dict[str, Any]], missing: list[str], plots: list[str]) -> None:
    """results/summary.md: per script its status, printed figures and plots."""
    lines = ["# Benchmark run", ""]
    lines.append(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}."
    )
    lines.append("")
    for run in runs:
        lines += [f"## {run['script']}: {run['status']} in {run['seconds']} s", ""]
        if run["detail"]:
            lines += [f"{run['detail']}", ""]
        markdown = RESULTS / "perfkit_bench.md"
        if run["script"].startswith("manage.py perfkit_bench") and markdown.exists():
            lines += [markdown.read_text(encoding="utf-8"), ""]
            continue
        tail = run["output"].strip().splitlines()[-80:]
        if tail:
            lines += ["```", *tail, "```", ""]
    if plots:
        lines += ["## Plots", ""] + [f"![{Path(p).stem}]({Path(p).name})" for p in plots] + [""]
    if missing:
        lines += ["## Missing", ""] + [f"- benchmarks/{n}: {EXPECTED[n]}" for n in missing]
    (RESULTS / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = [{k: v for k, v in run.items() if k != "output"} for run in runs]
    (RESULTS / "summary.json").write_text(
        json.dumps(
            {"runs": data, "missing": missing, "plots": [Path(p).name for p in plots]}, indent=2
        )
        + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
