"""Compare a perfkit_bench run with an earlier JSON report (``--baseline``).

More queries than the baseline always fail.  Time is compared noise-aware, so an unchanged
scenario passes on a busy machine and a real slowdown fails:

- the statistic is the *fastest* of the timed runs (``min``), not the median: noise only ever
  adds time, so the minimum is what the code costs and moves little between reruns (the median
  of a 0.5 ms scenario moved +33% between reruns of unchanged code, its minimum a few percent);
- it fails when the fastest run grew by more than the tolerance (percent), by more than a small
  absolute floor (``min_delta_ms``) *and* by more than the measured spread of either run
  (median - fastest): a shift smaller than the runs' own scatter is not a finding.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfkit.exceptions import ImproperlyConfiguredError

__all__ = ["Change", "Comparison", "compare", "load_baseline"]

_MACHINE_KEYS = ("python", "django", "cpu_count", "machine")


@dataclass(frozen=True)
class Change:
    """One difference between the baseline and this run."""

    kind: str  # queries | time | fewer_queries | faster | new | gone
    scenario: str
    backend: str
    mode: str
    message: str


@dataclass
class Comparison:
    """The differences, grouped: regressions fail the run, the rest is information."""

    path: str
    compared: int = 0
    regressions: list[Change] = field(default_factory=list)
    improvements: list[Change] = field(default_factory=list)
    new: list[Change] = field(default_factory=list)
    gone: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.regressions)

    def summary(self) -> str:
        """One sentence: how many were compared and what changed."""
        queries = sum(1 for c in self.regressions if c.kind == "queries")
        times = sum(1 for c in self.regressions if c.kind == "time")
        return (
            f"Compared {self.compared} measurements with {self.path}: "
            f"{queries} query-count increase{'s' if queries != 1 else ''}, "
            f"{times} time regression{'s' if times != 1 else ''}, "
            f"{len(self.improvements)} improvement{'s' if len(self.improvements) != 1 else ''}, "
            f"{len(self.new)} new, {len(self.gone)} gone."
        )

    def as_dict(self) -> dict[str, Any]:
        def rows(changes: list[Change]) -> list[dict[str, str]]:
            return [c.__dict__ for c in changes]

        return {
            "path": self.path,
            "compared": self.compared,
            "failed": self.failed,
            "summary": self.summary(),
            "regressions": rows(self.regressions),
            "improvements": rows(self.improvements),
            "new": rows(self.new),
            "gone": rows(self.gone),
            "notes": self.notes,
        }


def load_baseline(path: str | Path) -> dict[str, Any]:
    """Read a perfkit_bench JSON report, with an error naming the file and the fix."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ImproperlyConfiguredError(
            f"--baseline {str(path)!r} does not exist. Write one first with "
            f"`manage.py perfkit_bench --json {path}`."
        ) from None
    except json.JSONDecodeError as exc:
        raise ImproperlyConfiguredError(
            f"--baseline {str(path)!r} is not valid JSON ({exc}). Regenerate it with "
            f"`manage.py perfkit_bench --json {path}`."
        ) from exc
    if not isinstance(data, dict) or not str(data.get("schema", "")).startswith("perfkit-bench/"):
        raise ImproperlyConfiguredError(
            f"--baseline {str(path)!r} is not a perfkit_bench report (no 'schema': "
            f"'perfkit-bench/1'). Regenerate it with `manage.py perfkit_bench --json {path}`."
        )
    return data


def _index(report: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(r["scenario"], r["backend"], r["mode"]): r for r in report.get("results", [])}


def compare(
    current: dict[str, Any],
    baseline: dict[str, Any],
    *,
    path: str = "the baseline",
    tolerance: float = 25.0,
    min_delta_ms: float = 0.1,
) -> Comparison:
    """Differences between two reports (``BenchResult.as_dict()`` documents)."""
    result = Comparison(path=path)
    before_rows, after_rows = _index(baseline), _index(current)
    for key, after in after_rows.items():
        where = f"{key[0]} on {key[1]} ({key[2]})"
        before = before_rows.get(key)
        if before is None:
            result.new.append(Change("new", *key, f"{where}: not in the baseline"))
            continue
        if before.get("error") or after.get("error") or not after.get("time_ms"):
            continue
        if not before.get("time_ms"):
            continue
        result.compared += 1
        _compare_queries(result, key, where, before, after)
        _compare_time(result, key, where, before, after, tolerance, min_delta_ms)
    for key in before_rows.keys() - after_rows.keys():
        where = f"{key[0]} on {key[1]} ({key[2]})"
        result.gone.append(Change("gone", *key, f"{where}: in the baseline, not measured now"))
    for name in _MACHINE_KEYS:
        was, now = baseline.get("machine", {}).get(name), current.get("machine", {}).get(name)
        if was != now:
            result.notes.append(
                f"The baseline was measured with {name}={was!r}, this run has {now!r}: "
                f"timings may not be comparable."
            )
    return result


def _compare_queries(
    result: Comparison,
    key: tuple[str, str, str],
    where: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    was, now = before["queries"]["count"], after["queries"]["count"]
    if now > was:
        result.regressions.append(
            Change("queries", *key, f"{where}: {was} -> {now} queries (+{now - was})")
        )
    elif now < was:
        result.improvements.append(
            Change("fewer_queries", *key, f"{where}: {was} -> {now} queries ({now - was})")
        )


def _compare_time(
    result: Comparison,
    key: tuple[str, str, str],
    where: str,
    before: dict[str, Any],
    after: dict[str, Any],
    tolerance: float,
    min_delta_ms: float,
) -> None:
    was_t, now_t = before["time_ms"], after["time_ms"]
    was, now = _fastest(was_t), _fastest(now_t)
    if was <= 0:
        return
    noise = max(float(was_t["p50"]) - was, float(now_t["p50"]) - now, 0.0)
    change = (now - was) / was * 100
    text = (
        f"{where}: fastest run {was:.3f} ms -> {now:.3f} ms ({change:+.1f}%"
        f"; median {float(was_t['p50']):.3f} -> {float(now_t['p50']):.3f} ms"
    )
    beyond = max(min_delta_ms, noise)
    if change > tolerance and now - was > beyond:
        result.regressions.append(
            Change("time", *key, f"{text}; tolerance {tolerance:g}%, noise {noise:.3f} ms)")
        )
    elif -change > tolerance and was - now > beyond:
        result.improvements.append(Change("faster", *key, f"{text})"))


def _fastest(times: dict[str, Any]) -> float:
    # reports always carry "min"; a hand-written baseline may have only the median
    return float(times.get("min", times["p50"]))
