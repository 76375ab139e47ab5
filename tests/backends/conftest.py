from __future__ import annotations

import pytest

from tests.backends.servers import RedisServer


@pytest.fixture
def redis_server():
    """A private redis-server on a free port, killed after the test."""
    server = RedisServer()
    yield server
    server.stop()
