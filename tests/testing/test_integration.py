"""capture_cache sees perfkit.cache's operations, including its raw fast paths (contracts A, E)."""

from __future__ import annotations

import itertools

import pytest

from perfkit.cache import cached
from perfkit.testing import capture_cache
from tests.testing.helpers import here

_names = itertools.count()


def _cached_square(alias: str):
    # a fresh function (and key) per test: the cache outlives a test on Redis
    def square(n: int) -> int:
        return n * n

    square.__qualname__ = f"square_{next(_names)}"
    return cached(timeout=60, cache=alias)(square)


@pytest.mark.parametrize("alias", ["default", pytest.param("redis", marks=pytest.mark.redis)])
def test_cached_calls_are_seen_with_the_callers_location(alias, request):
    if alias == "redis":
        request.getfixturevalue("redis_cache")
    square = _cached_square(alias)
    with capture_cache(alias) as first:
        assert square(3) == 9
        line = here(-1)
    assert first.misses >= 1
    assert first.sets >= 1
    assert {op.location for op in first} == {line}
    with capture_cache(alias) as second:
        assert square(3) == 9
    assert second.misses == 0
    assert second.hits >= 1
    assert second.sets == 0
