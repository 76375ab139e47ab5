"""Hand-made perfkit_bench reports for the baseline and report tests."""

from __future__ import annotations

from typing import Any


def row(
    scenario: str = "list",
    *,
    backend: str = "locmem",
    mode: str = "cold",
    queries: int = 2,
    p50: float = 10.0,
    fastest: float | None = None,
    nplusone: list[dict[str, Any]] | None = None,
    error: str | None = None,
    speedup: float | None = None,
    perfkit_hits: int = 0,
) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "kind": "callable",
        "target": f"tests.{scenario}",
        "tags": [],
        "backend": backend,
        "mode": mode,
        "queries": {
            "count": queries,
            "duplicates": 0,
            "duplicate_groups": [],
            "nplusone": nplusone or [],
            "cache_sql": 0,
            "by_alias": {"default": queries},
        },
        "cache": {"hits": 1, "misses": 2, "sets": 3, "deletes": 0},
        "perfkit": {
            "hits": perfkit_hits,
            "misses": 0,
            "stale": 0,
            "invalidations": 0,
            "errors": 0,
        },
        "time_ms": None
        if error
        else {
            "p50": p50,
            "p95": p50 * 1.5,
            "p99": p50 * 2,
            "min": p50 / 2 if fastest is None else fastest,
            "max": p50 * 3,
            "mean": p50,
            "runs": 5,
        },
        "speedup": speedup,
        "error": error,
    }


def report(*rows: dict[str, Any], python: str = "3.11.7", skipped=()) -> dict[str, Any]:
    return {
        "schema": "perfkit-bench/1",
        "created": "2026-11-25T23:00:00+00:00",
        "machine": {
            "python": python,
            "implementation": "CPython",
            "django": "5.2.19",
            "perfkit": "0.1.0.dev0",
            "platform": "Linux",
            "machine": "x86_64",
            "cpu_count": 2,
            "database": {"vendor": "sqlite", "version": "3.40.1"},
            "executable": "/usr/bin/python",
        },
        "options": {"repeat": 5, "warmup": 1, "modes": ["cold", "warm"]},
        "backends": {"locmem": {"backend": "django.core.cache.backends.locmem.LocMemCache"}},
        "skipped": list(skipped),
        "results": list(rows),
    }
