from __future__ import annotations

import pytest

from perfkit.bench.stats import percentile, summarise


def test_percentile_interpolates_between_ranks():
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 50) == 2.5
    assert percentile(values, 100) == 4.0
    assert percentile(values, 95) == pytest.approx(3.85)


def test_percentile_of_one_sample():
    assert percentile([7.0], 99) == 7.0


def test_percentile_errors():
    with pytest.raises(ValueError, match=r"^percentile\(\) of no samples$"):
        percentile([], 50)
    with pytest.raises(ValueError, match=r"^percentile q must be between 0 and 100, got 101$"):
        percentile([1.0], 101)


def test_summarise_in_milliseconds():
    summary = summarise([0.003, 0.001, 0.002, 0.010])
    assert summary == {
        "p50": 2.5,
        "p95": pytest.approx(8.95),
        "p99": pytest.approx(9.79),
        "min": 1.0,
        "max": 10.0,
        "mean": 4.0,
        "runs": 4,
    }


def test_percentile_between_whole_percents():
    values = [float(v) for v in range(1001)]
    assert percentile(values, 99.9) == pytest.approx(999.0)
    assert percentile(values, 12.5) == pytest.approx(125.0)
