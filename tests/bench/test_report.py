from __future__ import annotations

import io
import json
import re
import sys

from perfkit.bench.baseline import compare
from perfkit.bench.report import (
    nplusone_lines,
    render_markdown,
    render_table,
    rows,
    write_json,
)
from tests.bench.reports import report, row

GROUP = {
    "fingerprint": "SELECT a.id FROM bookstore_author a WHERE a.id = ?",
    "count": 50,
    "locations": ["demo_project/bookstore/services.py:29 in _book_row"],
}


def sample():
    return report(
        row("naive", queries=201, p50=50.0, nplusone=[GROUP]),
        row("naive", queries=201, p50=50.0, nplusone=[GROUP], backend="db"),
        row("cached", mode="warm", queries=0, p50=0.0412, speedup=242.7, perfkit_hits=1),
        row("broken", error="ValueError: boom"),
        skipped=[{"backend": "redis", "reason": "redis://127.0.0.1:1/0 is not reachable (x)"}],
    )


def test_rows():
    assert [" | ".join(cells) for cells in rows(sample())] == [
        "naive | locmem | cold | 201 | 0 | 1 (50) | 1/2/3 |  | 50.0 | 75.0 | 100.0 | 25.0 | ",
        "naive | db | cold | 201 | 0 | 1 (50) | 1/2/3 |  | 50.0 | 75.0 | 100.0 | 25.0 | ",
        "cached | locmem | warm | 0 | 0 | 0 | 1/2/3 | 1/0 | 0.041 | 0.062 | 0.082 | 0.021 "
        "| 242.7x",
        "broken | locmem | cold | error |  |  |  |  |  |  |  |  | ",
    ]


def test_nplusone_lines_are_not_repeated_per_backend():
    assert nplusone_lines(sample()) == [
        "naive: 50x `SELECT a.id FROM bookstore_author a WHERE a.id = ?` from "
        "demo_project/bookstore/services.py:29 in _book_row"
    ]


def test_rich_table_with_footer():
    out = io.StringIO()
    base = report(row("naive", queries=200, p50=50.0))
    data = sample()
    render_table(data, out, comparison=compare(data, base, path="b.json"))
    text = out.getvalue()
    assert "perfkit_bench: 5 runs after 1 warm-up, Python 3.11.7, Django 5.2.19, sqlite " in text
    assert "242.7x" in text
    assert "N+1 query groups:" in text
    lines = text.splitlines()
    assert "skipped redis: redis://127.0.0.1:1/0 is not reachable (x)" in lines
    assert "FAILED broken on locmem (cold): ValueError: boom" in lines
    assert "REGRESSION naive on locmem (cold): 200 -> 201 queries (+1)" in lines
    assert lines[-1] == (
        "Compared 1 measurements with b.json: 1 query-count increase, 0 time regressions, "
        "0 improvements, 3 new, 0 gone."
    )


def test_plain_table_without_rich(monkeypatch):
    monkeypatch.setitem(sys.modules, "rich", None)
    monkeypatch.setitem(sys.modules, "rich.console", None)
    out = io.StringIO()
    render_table(sample(), out)
    lines = out.getvalue().splitlines()
    words = [" ".join(line.split()) for line in lines]
    assert words[1] == (
        "scenario backend mode queries dup N+1 cache h/m/s @cached h/m p50 ms p95 ms p99 ms "
        "min ms warm x"
    )
    assert words[2] == "naive locmem cold 201 0 1 (50) 1/2/3 50.0 75.0 100.0 25.0"
    assert words[4] == "cached locmem warm 0 0 0 1/2/3 1/0 0.041 0.062 0.082 0.021 242.7x"
    assert "skipped redis: redis://127.0.0.1:1/0 is not reachable (x)" in lines


def test_markdown():
    text = render_markdown(sample())
    lines = text.splitlines()
    assert lines[0].startswith("### perfkit_bench: 5 runs after 1 warm-up")
    assert lines[2] == (
        "| scenario | backend | mode | queries | dup | N+1 | cache h/m/s | @cached h/m | p50 ms "
        "| p95 ms | p99 ms | min ms | warm x |"
    )
    assert lines[3] == "|---|---|---|---:|---:|---:|---|---|---:|---:|---:|---:|---:|"
    assert (
        "| cached | locmem | warm | 0 | 0 | 0 | 1/2/3 | 1/0 | 0.041 | 0.062 | 0.082 | 0.021 "
        "| 242.7x |" in lines
    )
    assert "**N+1 query groups**" in lines
    assert "- skipped redis: redis://127.0.0.1:1/0 is not reachable (x)" in lines


def test_write_json_creates_directories(tmp_path):
    path = tmp_path / "a" / "b.json"
    write_json(sample(), path)
    assert json.loads(path.read_text())["schema"] == "perfkit-bench/1"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_narrow_terminal_hides_columns_instead_of_truncating(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    out = _Terminal()
    render_table(sample(), out)
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())
    assert "…" not in text
    header = next(line for line in text.splitlines() if "scenario" in line)
    assert (
        " ".join(header.split()) == "scenario backend mode queries N+1 @cached h/m p50 ms warm x"
    )
    assert (
        "(dup, cache h/m/s, p95 ms, p99 ms, min ms hidden: the terminal is 80 columns wide; "
        "--json and --markdown have every column)"
    ) in " ".join(text.split())
