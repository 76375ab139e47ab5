from __future__ import annotations

import json

import pytest

from perfkit.bench.baseline import compare, load_baseline
from perfkit.exceptions import ImproperlyConfiguredError
from tests.bench.reports import report, row


def messages(changes):
    return [c.message for c in changes]


def test_a_query_count_increase_always_fails():
    now, base = row(queries=3, p50=5.0, fastest=4.5), row(queries=2, p50=10.0, fastest=9.0)
    result = compare(report(now), report(base))
    assert result.failed
    assert messages(result.regressions) == ["list on locmem (cold): 2 -> 3 queries (+1)"]
    assert [c.kind for c in result.regressions] == ["queries"]
    # faster, but that does not excuse the extra query
    assert messages(result.improvements) == [
        "list on locmem (cold): fastest run 9.000 ms -> 4.500 ms (-50.0%; median 10.000 -> "
        "5.000 ms)"
    ]


def test_time_regression_beyond_tolerance_fails():
    result = compare(
        report(row(p50=13.0, fastest=12.6)), report(row(p50=10.0, fastest=9.7)), tolerance=30
    )
    assert not result.failed
    result = compare(
        report(row(p50=13.0, fastest=12.6)), report(row(p50=10.0, fastest=9.7)), tolerance=20
    )
    assert result.failed
    assert messages(result.regressions) == [
        "list on locmem (cold): fastest run 9.700 ms -> 12.600 ms (+29.9%; median 10.000 -> "
        "13.000 ms; tolerance 20%, noise 0.400 ms)"
    ]


def test_unchanged_code_on_a_noisy_machine_passes():
    # the reported case: a 0.5 ms scenario whose median moved +33% between reruns of the same
    # code; its fastest run barely moved
    base = report(row(p50=0.500, fastest=0.420))
    assert not compare(report(row(p50=0.665, fastest=0.435)), base).failed
    # even the fastest run slower by 31%, but within the runs' own scatter (median - fastest)
    noisy = compare(report(row(p50=0.900, fastest=0.550)), base)
    assert not noisy.failed
    assert noisy.regressions == []


def test_a_real_twofold_slowdown_fails():
    base = report(row(p50=0.500, fastest=0.420))
    result = compare(report(row(p50=1.000, fastest=0.850)), base)
    assert result.failed
    assert messages(result.regressions) == [
        "list on locmem (cold): fastest run 0.420 ms -> 0.850 ms (+102.4%; median 0.500 -> "
        "1.000 ms; tolerance 25%, noise 0.150 ms)"
    ]


def test_a_baseline_without_the_minimum_compares_medians():
    base = report(row(p50=1.0))
    del base["results"][0]["time_ms"]["min"]
    assert compare(report(row(p50=2.0, fastest=1.9)), base).failed


def test_tiny_absolute_growth_never_fails():
    base, now = report(row(p50=0.02, fastest=0.02)), report(row(p50=0.05, fastest=0.05))
    assert not compare(now, base, tolerance=10, min_delta_ms=0.1).failed
    assert compare(now, base, tolerance=10, min_delta_ms=0.01).failed


def test_fewer_queries_is_an_improvement():
    result = compare(report(row(queries=1)), report(row(queries=51)))
    assert not result.failed
    assert messages(result.improvements) == ["list on locmem (cold): 51 -> 1 queries (-50)"]


def test_new_gone_errors_and_notes():
    base = report(row("old"), row("broken"), row("same"))
    now = report(row("new"), row("broken", error="ValueError: x"), row("same"), python="3.12.1")
    result = compare(now, base, path="base.json")
    assert messages(result.new) == ["new on locmem (cold): not in the baseline"]
    assert messages(result.gone) == ["old on locmem (cold): in the baseline, not measured now"]
    assert result.compared == 1  # errors are not compared
    assert result.notes == [
        "The baseline was measured with python='3.11.7', this run has '3.12.1': "
        "timings may not be comparable."
    ]
    assert result.summary() == (
        "Compared 1 measurements with base.json: 0 query-count increases, "
        "0 time regressions, 0 improvements, 1 new, 1 gone."
    )


def test_summary_and_dict():
    result = compare(report(row(queries=3)), report(row(queries=2)), path="b.json")
    assert result.summary() == (
        "Compared 1 measurements with b.json: 1 query-count increase, 0 time regressions, "
        "0 improvements, 0 new, 0 gone."
    )
    data = result.as_dict()
    assert data["failed"] is True
    assert data["regressions"] == [
        {
            "kind": "queries",
            "scenario": "list",
            "backend": "locmem",
            "mode": "cold",
            "message": "list on locmem (cold): 2 -> 3 queries (+1)",
        }
    ]
    json.dumps(data)


class TestLoadBaseline:
    def test_missing_file(self, tmp_path):
        path = tmp_path / "nope.json"
        with pytest.raises(ImproperlyConfiguredError) as info:
            load_baseline(path)
        assert str(info.value) == (
            f"--baseline {str(path)!r} does not exist. Write one first with "
            f"`manage.py perfkit_bench --json {path}`."
        )

    def test_not_json(self, tmp_path):
        path = tmp_path / "bad.json"
        path.write_text("{oops")
        with pytest.raises(ImproperlyConfiguredError) as info:
            load_baseline(path)
        assert str(info.value).startswith(f"--baseline {str(path)!r} is not valid JSON (")

    def test_not_a_report(self, tmp_path):
        path = tmp_path / "other.json"
        path.write_text('{"results": []}')
        with pytest.raises(ImproperlyConfiguredError) as info:
            load_baseline(path)
        assert str(info.value) == (
            f"--baseline {str(path)!r} is not a perfkit_bench report (no 'schema': "
            f"'perfkit-bench/1'). Regenerate it with `manage.py perfkit_bench --json {path}`."
        )

    def test_reads_a_report(self, tmp_path):
        path = tmp_path / "ok.json"
        path.write_text(json.dumps(report(row())))
        assert load_baseline(path)["results"][0]["scenario"] == "list"
