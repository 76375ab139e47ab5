from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import caches


@pytest.mark.redis
def test_redis_round_trip_uses_the_test_prefix(redis_cache):
    redis_cache.set("probe", 1)
    assert redis_cache.get("probe") == 1
    client = redis_cache.client.get_client()
    assert client.exists(f"{settings.TEST_KEY_PREFIX}:1:probe")


@pytest.mark.postgres
def test_postgres_is_the_database(db):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("select version()")
        assert "PostgreSQL" in cursor.fetchone()[0]


def test_database_cache_works(db_cache):
    db_cache.set("k", {"v": 1})
    assert caches["db"].get("k") == {"v": 1}
