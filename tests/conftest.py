"""Shared fixtures: real services, a clean cache per test, the demo data."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import caches

from tests.services import require_service


def pytest_runtest_setup(item: pytest.Item) -> None:
    # @pytest.mark.redis / postgres / rabbitmq: skip locally, fail under CI=true
    for name in ("redis", "postgres", "rabbitmq"):
        if item.get_closest_marker(name):
            require_service(name)
    if item.get_closest_marker("postgres") and settings.DATABASES["default"]["ENGINE"] != (
        "django.db.backends.postgresql"
    ):
        pytest.skip("needs DATABASE_URL=postgres://... (run by `make test` in its second pass)")


@pytest.fixture(autouse=True)
def _clear_locmem_caches() -> None:
    """Start every test with empty local-memory caches (Redis is cleared by prefix, see below)."""
    for alias in settings.CACHES:
        if settings.CACHES[alias]["BACKEND"].endswith("LocMemCache"):
            caches[alias].clear()


@pytest.fixture
def redis_cache():
    """The "redis" cache alias on the real Redis, emptied of this process's keys after the test."""
    require_service("redis")
    cache = caches["redis"]
    yield cache
    client = cache.client.get_client()
    keys = list(client.scan_iter(match=f"{settings.TEST_KEY_PREFIX}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def db_cache(db):
    """The "db" cache alias (DatabaseCache), with its table created in the test database."""
    from django.core.management import call_command

    call_command("createcachetable", "perfkit_test_cache", verbosity=0)
    return caches["db"]


@pytest.fixture
def bookstore(db):
    """A small, deterministic bookstore: 30 books, 5 reviews each."""
    from demo_project.bookstore.seeding import seed

    return seed(30, reviews_per_book=5)
