"""PNG plots of benchmark result files (used by run_all.py).

A result file may say exactly what to draw with a top-level ``"plots"`` list (see README.md):

    {"plots": [{"file": "bench_cache_hit.png", "title": "Hit path", "kind": "barh",
                "xlabel": "median us per call", "bars": {"perfkit": 41.8, "memoize": 65.7}},
               {"file": "bench_cache_invalidation.png", "kind": "line", "log": true,
                "xlabel": "dependent entries", "ylabel": "ms per write",
                "series": [{"label": "perfkit", "x": [10, 100000], "y": [0.1, 0.1]}]}]}

Without it, the numbers under keys that name a unit (``median_us_per_call``, ``bump_ms``,
``seconds``, ``ratios``) become horizontal bar charts, one per top-level key and unit.
perfkit_bench reports get a cold/warm median chart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_FIGURE_KEYS = ("median", "p50", "mean")
_LABEL_KEYS = ("name", "label", "mode", "variant", "backend")


def plot_all(results: Path) -> list[str]:
    """Draw ``results/bench_*.json`` and ``perfkit_bench.json``; return the PNG paths written."""
    import matplotlib

    matplotlib.use("Agg")
    written: list[str] = []
    paths = sorted(results.glob("bench_*.json")) + sorted(results.glob("perfkit_bench.json"))
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            print(f"  cannot plot {path.name}: {exc}")
            continue
        if isinstance(data, dict) and data.get("plots"):
            specs = data["plots"]
        elif isinstance(data, dict) and str(data.get("schema", "")).startswith("perfkit-bench/"):
            specs = [_perfkit_bench_spec(data, path.stem)]
        else:
            specs = _fallback_specs(data, path.stem)
        for spec in specs:
            if spec is None:
                continue
            try:
                written.append(str(_draw(spec, results)))
            except Exception as exc:  # one bad spec must not lose the other plots
                print(f"  cannot plot {spec.get('file', path.stem)}: {type(exc).__name__}: {exc}")
    return written


def _draw(spec: dict[str, Any], results: Path) -> Path:
    import matplotlib.pyplot as plt

    kind = spec.get("kind", "barh")
    bars: dict[str, float] = spec.get("bars", {})
    height = max(3.0, 0.35 * len(bars) + 1.5) if kind == "barh" else 4.5
    width = max(9.0, 0.55 * len(spec.get("groups", ()))) if kind == "grouped" else 9.0
    fig, ax = plt.subplots(figsize=(width, height if kind != "grouped" else 5.5))
    if kind == "line":
        for series in spec["series"]:
            ax.plot(series["x"], series["y"], marker="o", label=series["label"])
        ax.legend()
    elif kind == "grouped":
        groups, series = spec["groups"], spec["series"]
        width = 0.8 / max(1, len(series))
        for i, item in enumerate(series):
            xs = [g + i * width for g in range(len(groups))]
            ax.bar(xs, item["values"], width=width, label=item["label"])
        ax.set_xticks([g + 0.4 - width / 2 for g in range(len(groups))])
        ax.set_xticklabels(groups, rotation=30, ha="right")
        ax.legend()
    elif kind == "bar":
        ax.bar(list(bars), list(bars.values()))
        ax.tick_params(axis="x", rotation=30)
    else:
        labels = list(bars)[::-1]
        ax.barh(labels, [bars[label] for label in labels])
        for y, label in enumerate(labels):
            ax.annotate(f" {bars[label]:.4g}", (bars[label], y), va="center", fontsize=8)
    if spec.get("log"):
        (ax.set_xscale if kind == "barh" else ax.set_yscale)("log")
        if kind == "line":
            ax.set_xscale("log")
    ax.set_title(spec.get("title", ""))
    ax.set_xlabel(spec.get("xlabel", ""))
    ax.set_ylabel(spec.get("ylabel", ""))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out = results / spec["file"]
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _perfkit_bench_spec(data: dict[str, Any], stem: str) -> dict[str, Any] | None:
    rows = [r for r in data["results"] if r.get("time_ms")]
    if not rows:
        return None
    groups = list(dict.fromkeys(f"{r['scenario']} ({r['backend']})" for r in rows))
    series = []
    for mode in ("cold", "warm"):
        by_group = {
            f"{r['scenario']} ({r['backend']})": r["time_ms"]["p50"]
            for r in rows
            if r["mode"] == mode
        }
        if by_group:
            series.append({"label": mode, "values": [by_group.get(g, 0) for g in groups]})
    return {
        "file": f"{stem}.png",
        "kind": "grouped",
        "title": "perfkit_bench on the demo: median per scenario and backend",
        "ylabel": "median ms (log)",
        "log": True,
        "groups": groups,
        "series": series,
    }


def _unit(segment: str) -> str | None:
    """The unit a key names (``median_us_per_call`` -> "us"), None when it names no figure."""
    words = segment.lower().replace("-", "_").replace(" ", "_").split("_")
    if "per" in words and words[-1] in ("second", "s"):
        return "per_second"
    for unit in ("us", "ms", "seconds"):
        if unit in words:
            return "s" if unit == "seconds" else unit
    if words[0] in ("ratio", "ratios", "vs") or words[-1] == "ratio":
        return "ratio"
    if words[0] in _FIGURE_KEYS:
        return "value"
    return None


def _fallback_specs(data: Any, stem: str) -> list[dict[str, Any]]:
    """One bar chart per top-level key and unit, from the keys that name a figure."""
    charts: dict[tuple[str, str], dict[str, float]] = {}

    def walk(value: Any, path: list[str], unit: str | None) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, [*path, str(key)], _unit(str(key)) or unit)
        elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
            # a list of rows: label each by its name-like field
            for i, item in enumerate(value):
                label = next((str(item[k]) for k in _LABEL_KEYS if k in item), str(i))
                walk({k: v for k, v in item.items() if k not in _LABEL_KEYS}, [*path, label], unit)
        elif isinstance(value, int | float) and not isinstance(value, bool) and unit:
            label = " / ".join(path[1:]) or path[0]
            charts.setdefault((path[0], unit), {})[label] = float(value)

    if isinstance(data, dict):
        for key, value in data.items():
            if key not in ("machine", "plots"):
                walk(value, [str(key)], _unit(str(key)))
    if not charts:
        print(f"  {stem}.json: no 'plots' list and no figures (keys in us, ms, seconds) to draw")
    specs = []
    for (top, unit), bars in _split_crowded(charts).items():
        values = [v for v in bars.values() if v > 0]
        spread = max(values) / min(values) if values else 1
        specs.append(
            {
                "file": f"{stem}_{top}_{unit}.png".replace(" ", "_").replace("/", "_").lower(),
                "kind": "barh",
                "title": f"{stem}: {top}",
                "xlabel": unit + (" (log)" if spread > 100 else ""),
                "log": spread > 100,
                "bars": dict(list(bars.items())[:40]),
            }
        )
    return specs


def _split_crowded(
    charts: dict[tuple[str, str], dict[str, float]], most: int = 12
) -> dict[tuple[str, str], dict[str, float]]:
    """A chart of more than ``most`` bars becomes one chart per metric (last part of a label)."""
    result: dict[tuple[str, str], dict[str, float]] = {}
    for (top, unit), bars in charts.items():
        if len(bars) <= most:
            result[top, unit] = bars
            continue
        for label, value in bars.items():
            head, _, metric = label.rpartition(" / ")
            result.setdefault((f"{top} {metric}", unit), {})[head or label] = value
    return result
