"""Generation keys: a TTL (``PERFKIT["GENERATION_TIMEOUT"]``) and a length every backend takes."""

from __future__ import annotations

import datetime
import time
import warnings

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.core.cache.backends.base import CacheKeyWarning
from django.db import connections, router
from django.utils.dateparse import parse_datetime

from demo_project.bookstore.models import Book
from perfkit.cache import MISSING, cached, generations, invalidate
from tests.cache.txkit import cache_alias, make_book

__all__ = ["cache_alias"]

pytestmark = pytest.mark.django_db


def expires_in(alias, key):
    """Seconds until ``key`` expires in cache ``alias`` (None: never; KeyError: absent)."""
    cache = caches[alias]
    full = cache.make_key(key)
    if alias == "redis":
        ttl = cache.ttl(key)
        if ttl == 0:
            raise KeyError(key)
        return ttl
    if alias == "db":
        db = router.db_for_read(cache.cache_model_class)
        with connections[db].cursor() as cursor:
            cursor.execute(f"SELECT expires FROM {cache._table} WHERE cache_key = %s", [full])
            row = cursor.fetchone()
        if row is None:
            raise KeyError(key)
        value = row[0]
        if isinstance(value, str):  # SQLite
            value = parse_datetime(value)
        if value.tzinfo is None:  # stored in UTC (USE_TZ)
            value = value.replace(tzinfo=datetime.UTC)
        if value.year >= 9999:
            return None
        return value.timestamp() - time.time()
    expiry = cache._expire_info[full]
    return None if expiry is None else expiry - time.time()


def test_generations_expire_after_the_setting(cache_alias, settings):
    settings.PERFKIT = {**settings.PERFKIT, "GENERATION_TIMEOUT": 1000}

    @cached(timeout=None, cache=cache_alias, depends_on=lambda pk: [(Book, pk)])
    def title(pk):
        return Book.objects.get(pk=pk).title

    book = make_book("old")  # a bump: model and row generations
    title(book.pk)  # creates the missing "*" generation
    prefix = settings.PERFKIT["KEY_PREFIX"]
    for key in (f"{prefix}:g:bookstore.book", f"{prefix}:g:bookstore.book:{book.pk}"):
        assert 900 < expires_in(cache_alias, key) <= 1000
    assert 900 < expires_in(cache_alias, f"{prefix}:g:bookstore.book:*") <= 1000


def test_the_default_is_thirty_days_and_none_means_never(cache_alias, settings):
    settings.PERFKIT = {**settings.PERFKIT, "CACHE_ALIAS": cache_alias}
    make_book("old")
    key = f"{settings.PERFKIT['KEY_PREFIX']}:g:bookstore.book"
    assert 29 * 86400 < expires_in(cache_alias, key) <= 30 * 86400
    settings.PERFKIT = {**settings.PERFKIT, "CACHE_ALIAS": cache_alias, "GENERATION_TIMEOUT": None}
    invalidate(Book)
    assert expires_in(cache_alias, key) is None


def test_an_expired_generation_costs_a_recompute(cache_alias, settings):
    book = make_book("old")

    @cached(timeout=None, cache=cache_alias, depends_on=lambda pk: [(Book, pk)])
    def title(pk):
        return Book.objects.get(pk=pk).title

    title(book.pk)
    caches[cache_alias].delete(f"{settings.PERFKIT['KEY_PREFIX']}:g:bookstore.book:{book.pk}")
    assert title.peek(book.pk) is MISSING
    assert title(book.pk) == "old"
    assert title.peek(book.pk) == "old"


def test_long_string_pks_make_keys_every_backend_takes(cache_alias):
    key = "k" * 300
    calls = []

    @cached(timeout=60, cache=cache_alias, depends_on=lambda k: [(Session, k)])
    def session_data(k):
        calls.append(k)
        return len(calls)

    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheKeyWarning)  # memcached's 250-character limit
        assert session_data(key) == 1
        assert session_data(key) == 1
        invalidate((Session, key))
        assert session_data.peek(key) is MISSING
        assert session_data(key) == 2
    written = generations.write_keys(Session, [key])
    assert written[1] in generations.dependency_keys((Session, key), "test")
    assert all(len(k) <= 200 for k in written)


def test_long_function_names_make_entry_keys_every_backend_takes(cache_alias):
    def body(x):
        return x * 2

    body.__qualname__ = "f" * 160  # short enough to be kept, too long with a digest after it
    wrapped = cached(timeout=60, cache=cache_alias)(body)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheKeyWarning)
        assert wrapped(2) == 4
        assert wrapped.peek(2) == 4
    assert len(wrapped.key_for(2)) <= 200
