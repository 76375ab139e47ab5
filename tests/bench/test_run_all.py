from __future__ import annotations

import json
import textwrap

import pytest

from benchmarks import run_all


@pytest.fixture
def bench_dir(tmp_path, monkeypatch):
    here = tmp_path / "benchmarks"
    (here / "results").mkdir(parents=True)
    monkeypatch.setattr(run_all, "HERE", here)
    monkeypatch.setattr(run_all, "ROOT", tmp_path)
    monkeypatch.setattr(run_all, "RESULTS", here / "results")
    monkeypatch.setattr(
        run_all, "EXPECTED", {"bench_ok.py": "works", "bench_gone.py": "never written"}
    )
    (here / "bench_ok.py").write_text(
        textwrap.dedent(
            """
            import json, pathlib
            out = pathlib.Path(__file__).parent / "results" / "bench_ok.json"
            out.write_text(json.dumps({"hit": {"perfkit": {"median_us": 41.8}}}))
            print("perfkit hit 41.8 us")
            """
        )
    )
    (here / "bench_silent.py").write_text("print('forgot to write results')\n")
    (here / "bench_crash.py").write_text("raise SystemExit('boom')\n")
    return here


def test_runs_every_script_and_names_what_is_missing(bench_dir, capsys):
    assert run_all.main(["--no-demo"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "running bench_crash.py ..." in out
    assert any(line.startswith("  failed: bench_crash.py in ") for line in out)
    assert any(line.startswith("  ok: bench_ok.py in ") for line in out)
    assert any(
        line.startswith("  failed: bench_silent.py in ")
        and line.endswith("(wrote no benchmarks/results/bench_silent.json)")
        for line in out
    )
    assert "MISSING benchmarks/bench_gone.py (never written): not run" in out
    assert out[-1] == (
        "1 of 3 benchmarks ran, 2 failed, 1 expected script(s) missing; summary in "
        "benchmarks/results/summary.md"
    )
    results = bench_dir / "results"
    assert (results / "bench_ok_hit_us.png").exists()
    assert (results / "bench_ok.log").read_text() == "perfkit hit 41.8 us\n"
    summary = json.loads((results / "summary.json").read_text())
    assert summary["missing"] == ["bench_gone.py"]
    assert [r["status"] for r in summary["runs"]] == ["failed", "ok", "failed"]
    assert "- benchmarks/bench_gone.py: never written" in (results / "summary.md").read_text()


def test_all_present_and_passing_exits_0(bench_dir, monkeypatch, capsys):
    monkeypatch.setattr(run_all, "EXPECTED", {"bench_ok.py": "works"})
    assert run_all.main(["--no-demo", "--no-plots", "ok"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("1 of 1 benchmarks ran, 0 failed")
