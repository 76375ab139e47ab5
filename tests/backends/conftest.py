from __future__ import annotations

import pytest

from tests.backends.servers import RedisServer


@pytest.fixture
def redis_server():
    """A private redis-server on a free port, killed after the test."""
    server = RedisServer()
    yield server
    server.stop()


class FakeClock:
    """A monotonic clock that moves only when told: ``clock.advance(seconds)``."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_clock():
    return FakeClock()
