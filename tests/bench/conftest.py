from __future__ import annotations

import pytest

from perfkit.bench import autodiscover, registered_scenarios


@pytest.fixture
def clean_registry():
    """Restore the scenario registry (with the demo's scenarios discovered) after the test."""
    autodiscover()  # import perf_scenarios modules first: a later import would not re-register
    before = dict(registered_scenarios)
    yield
    registered_scenarios.clear()
    registered_scenarios.update(before)
