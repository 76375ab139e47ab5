"""perfkit_bench: register scenarios, run them per cache backend cold and warm, compare runs.

``scenario()`` registers what to measure (in a ``perf_scenarios.py`` module of any installed
app); ``manage.py perfkit_bench`` runs them.  Importing this package loads neither rich nor
redis: they are imported where used.
"""

from __future__ import annotations

from perfkit.bench.baseline import Comparison, compare, load_baseline
from perfkit.bench.registry import (
    Scenario,
    autodiscover,
    registered_scenarios,
    scenario,
    select,
)
from perfkit.bench.runner import BenchResult, BenchRunner, Measurement, ScenarioFailed

__all__ = [
    "BenchResult",
    "BenchRunner",
    "Comparison",
    "Measurement",
    "Scenario",
    "ScenarioFailed",
    "autodiscover",
    "compare",
    "load_baseline",
    "registered_scenarios",
    "scenario",
    "select",
]
