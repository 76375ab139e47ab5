"""Where invalidations go: CACHE_ALIAS, INVALIDATION_ALIASES and the aliases in use."""

from __future__ import annotations

import pytest
from django.core.cache import caches

from demo_project.bookstore.models import Book
from perfkit.cache import generations, registry
from perfkit.conf import perfkit_settings

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture
def no_cached_functions():
    """A process that imported no @cached function (say, a Celery worker)."""
    before = dict(registry)
    registry.clear()
    yield
    registry.update(before)


def book_generation(alias: str):
    return caches[alias].get(f"{perfkit_settings.KEY_PREFIX}:g:bookstore.book")


def test_a_write_reaches_the_listed_alias_without_any_cached_function(
    settings, redis_cache, bookstore, no_cached_functions
):
    settings.PERFKIT = {**settings.PERFKIT, "INVALIDATION_ALIASES": ["redis"]}
    assert generations.aliases() == {"default", "redis"}
    before = book_generation("redis")
    Book.objects.filter(pk=Book.objects.first().pk).update(pages=1)
    after = book_generation("redis")
    assert after is not None
    assert after != before


def test_without_the_setting_an_unused_alias_gets_nothing(
    settings, redis_cache, bookstore, no_cached_functions
):
    settings.PERFKIT = {k: v for k, v in settings.PERFKIT.items() if k != "INVALIDATION_ALIASES"}
    assert generations.aliases() == {"default"}
    before = book_generation("redis")  # earlier tests of this process may have set one
    Book.objects.filter(pk=Book.objects.first().pk).update(pages=2)
    assert book_generation("redis") == before
    assert book_generation("default") is not None
