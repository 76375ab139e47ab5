"""Show a perfkit_bench run: a terminal table (rich, or plain text without it), JSON, Markdown."""

from __future__ import annotations

import json
from io import TextIOBase
from pathlib import Path
from typing import IO, Any, cast

from perfkit.bench.baseline import Comparison

__all__ = ["COLUMNS", "nplusone_lines", "render_markdown", "render_table", "rows", "write_json"]

COLUMNS = (
    "scenario",
    "backend",
    "mode",
    "queries",
    "dup",
    "N+1",
    "cache h/m/s",
    "@cached h/m",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "min ms",
    "warm x",
)
# on a narrow terminal, columns are hidden in this order
_DROP_ORDER = ("p99 ms", "p95 ms", "min ms", "dup", "cache h/m/s", "@cached h/m")
_NUMERIC = {"queries", "dup", "N+1", "p50 ms", "p95 ms", "p99 ms", "min ms", "warm x"}


def _ms(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def rows(report: dict[str, Any]) -> list[list[str]]:
    """The table's cells, one row per scenario, backend and mode."""
    table = []
    for r in report["results"]:
        head = [r["scenario"], r["backend"], r["mode"]]
        if r.get("error"):
            table.append([*head, "error", *[""] * (len(COLUMNS) - 4)])
            continue
        q, c, t = r["queries"], r["cache"], r["time_ms"]
        table.append(
            [
                *head,
                str(q["count"]),
                str(q["duplicates"]),
                _nplusone_cell(q["nplusone"]),
                f"{c['hits']}/{c['misses']}/{c['sets']}",
                _perfkit_cell(r.get("perfkit") or {}),
                _ms(t["p50"]),
                _ms(t["p95"]),
                _ms(t["p99"]),
                _ms(t["min"]),
                f"{r['speedup']:.1f}x" if r.get("speedup") else "",
            ]
        )
    return table


def _perfkit_cell(events: dict[str, int]) -> str:
    # perfkit's own @cached/@cached_view outcomes (signals), "" when the scenario has none
    hits, misses, stale = events.get("hits", 0), events.get("misses", 0), events.get("stale", 0)
    if not (hits or misses or stale):
        return ""
    return f"{hits}/{misses}" + (f" +{stale} stale" if stale else "")


def _nplusone_cell(groups: list[dict[str, Any]]) -> str:
    # groups (queries in them): "4 (200)" = four N+1 shapes repeated 200 times in all
    return f"{len(groups)} ({sum(g['count'] for g in groups)})" if groups else "0"


def _shorten(text: str, width: int = 72) -> str:
    if len(text) <= width:
        return text
    half = (width - 5) // 2
    return f"{text[:half]} ... {text[-half:]}"


def nplusone_lines(report: dict[str, Any]) -> list[str]:
    """One line per N+1 group per scenario (the same group on other backends is not repeated)."""
    seen = set()
    lines = []
    for r in report["results"]:
        for group in (r.get("queries") or {}).get("nplusone", []):
            key = (r["scenario"], group["fingerprint"], tuple(group["locations"]))
            if key in seen:
                continue
            seen.add(key)
            where = ", ".join(group["locations"][:3]) or "unknown location"
            lines.append(
                f"{r['scenario']}: {group['count']}x `{_shorten(group['fingerprint'])}` "
                f"from {where}"
            )
    return lines


def _footer(report: dict[str, Any], comparison: Comparison | None) -> list[str]:
    lines = [f"skipped {s['backend']}: {s['reason']}" for s in report["skipped"]]
    lines += [
        f"FAILED {r['scenario']} on {r['backend']} ({r['mode']}): {r['error']}"
        for r in report["results"]
        if r.get("error")
    ]
    if comparison is not None:
        lines += [f"REGRESSION {c.message}" for c in comparison.regressions]
        lines += [f"improved {c.message}" for c in comparison.improvements]
        lines += [f"new {c.message}" for c in comparison.new]
        lines += [f"gone {c.message}" for c in comparison.gone]
        lines += comparison.notes
        lines.append(comparison.summary())
    return lines


def _title(report: dict[str, Any]) -> str:
    m, o = report["machine"], report["options"]
    db = m["database"]
    return (
        f"perfkit_bench: {o['repeat']} runs after {o['warmup']} warm-up, "
        f"Python {m['python']}, Django {m['django']}, {db['vendor']} {db['version'] or ''}, "
        f"{m['cpu_count']} CPUs"
    ).replace(" ,", ",")


def render_table(
    report: dict[str, Any], stream: IO[str] | TextIOBase, *, comparison: Comparison | None = None
) -> None:
    """Print the table with rich when it is installed, else as aligned plain text."""
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        _render_plain(report, stream, comparison)
        return
    from rich import box

    terminal = hasattr(stream, "isatty") and stream.isatty()
    console = Console(file=cast(IO[str], stream), width=None if terminal else 180, highlight=False)
    cells = rows(report)
    shown = list(COLUMNS)
    while True:
        table = Table(title=_title(report), title_justify="left", box=box.SIMPLE_HEAD)
        for column in shown:
            table.add_column(
                column, justify="right" if column in _NUMERIC else "left", no_wrap=True
            )
        for row in cells:
            table.add_row(*(row[COLUMNS.index(c)] for c in shown))
        droppable = [c for c in _DROP_ORDER if c in shown]
        natural = console.measure(table, options=console.options.update_width(10_000)).maximum
        if natural <= console.width or not droppable:
            break
        shown.remove(droppable[0])  # a narrow terminal: fewer columns rather than "li…"
    console.print(table)
    hidden = [c for c in COLUMNS if c not in shown]
    if hidden:
        console.print(
            f"({', '.join(hidden)} hidden: the terminal is {console.width} columns wide; "
            f"--json and --markdown have every column)",
            markup=False,
        )
    nplusone = nplusone_lines(report)
    if nplusone:
        console.print("N+1 query groups:", style="bold")
        for line in nplusone:
            console.print(f"  {line}", markup=False, soft_wrap=True)
    for line in _footer(report, comparison):
        style = "bold red" if line.startswith(("REGRESSION", "FAILED")) else None
        console.print(line, style=style, markup=False, soft_wrap=True)


def _render_plain(
    report: dict[str, Any], stream: IO[str] | TextIOBase, comparison: Comparison | None
) -> None:
    table = [list(COLUMNS), *rows(report)]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    out = [_title(report)]
    for row in table:
        cells = [
            cell.rjust(w) if COLUMNS[i] in _NUMERIC else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
    nplusone = nplusone_lines(report)
    if nplusone:
        out.append("N+1 query groups:")
        out += [f"  {line}" for line in nplusone]
    out += _footer(report, comparison)
    stream.write("\n".join(out) + "\n")


def render_markdown(report: dict[str, Any], *, comparison: Comparison | None = None) -> str:
    """The table as GitHub Markdown, for a pull-request comment."""
    lines = [f"### {_title(report)}", ""]
    lines.append("| " + " | ".join(COLUMNS) + " |")
    lines.append("|" + "|".join("---:" if c in _NUMERIC else "---" for c in COLUMNS) + "|")
    for cells in rows(report):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    nplusone = nplusone_lines(report)
    if nplusone:
        lines += ["", "**N+1 query groups**", ""] + [f"- {line}" for line in nplusone]
    footer = _footer(report, comparison)
    if footer:
        lines += [""] + [f"- {line}" for line in footer]
    return "\n".join(lines) + "\n"


def write_json(report: dict[str, Any], path: str | Path) -> None:
    """Write the report as indented JSON (parent directories are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n", encoding="utf-8")
