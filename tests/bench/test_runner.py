from __future__ import annotations

import pytest

from perfkit.bench import BenchRunner
from perfkit.exceptions import ImproperlyConfiguredError


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"repeat": 0}, "BenchRunner(repeat=...) must be a whole number >= 1, got 0."),
        ({"warmup": -1}, "BenchRunner(warmup=...) must be a whole number >= 0, got -1."),
        (
            {"modes": ["hot"]},
            "BenchRunner(modes=...) must name 'cold' and/or 'warm', got ['hot'].",
        ),
        ({"modes": []}, "BenchRunner(modes=...) must name 'cold' and/or 'warm', got []."),
    ],
)
def test_runner_options_are_checked(kwargs, message):
    with pytest.raises(ImproperlyConfiguredError) as info:
        BenchRunner([], backends=[], **kwargs)
    assert str(info.value) == message
