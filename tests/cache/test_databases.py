"""Generations per database alias (``PERFKIT["GENERATIONS_PER_DATABASE"]``)."""

from __future__ import annotations

import pytest
from django.db import connections

from demo_project.bookstore.models import Book
from perfkit.cache import MISSING, cached, invalidate, on_database
from perfkit.exceptions import ImproperlyConfiguredError
from tests.cache.txkit import cache_alias, make_book

__all__ = ["cache_alias"]

pytestmark = pytest.mark.django_db(databases=["default", "other"])


@pytest.fixture
def per_database(settings):
    settings.PERFKIT = {**settings.PERFKIT, "GENERATIONS_PER_DATABASE": True}


def title_functions(alias):
    @cached(timeout=60, cache=alias, depends_on=lambda pk: [(Book, pk)])
    def title(pk):
        return Book.objects.using("default").get(pk=pk).title

    @cached(timeout=60, cache=alias, depends_on=lambda pk: on_database("other", (Book, pk)))
    def other_title(pk):
        return Book.objects.using("other").get(pk=pk).title

    @cached(timeout=60, cache=alias, depends_on=[on_database("other", Book)])
    def other_titles():
        return sorted(Book.objects.using("other").values_list("title", flat=True))

    return title, other_title, other_titles


def test_a_write_on_other_keeps_entries_computed_from_default(cache_alias, per_database):
    book = make_book("old")
    # the same row on both databases (PostgreSQL sequences differ once other tests ran)
    make_book("old", using="other", pk=book.pk)
    title, other_title, other_titles = title_functions(cache_alias)
    assert (title(book.pk), other_title(book.pk), other_titles()) == ("old", "old", ["old"])
    Book.objects.using("other").filter(pk=book.pk).update(title="other!")
    assert title.peek(book.pk) == "old"  # computed from default: still valid
    assert other_title.peek(book.pk) is MISSING
    assert other_titles.peek() is MISSING
    assert (other_title(book.pk), other_titles()) == ("other!", ["other!"])
    Book.objects.filter(pk=book.pk).update(title="default!")  # the home database
    assert title.peek(book.pk) is MISSING
    assert other_title.peek(book.pk) == "other!"
    assert title(book.pk) == "default!"


def test_raw_sql_on_other_is_per_database_too(cache_alias, per_database):
    book = make_book("old")
    make_book("old", using="other", pk=book.pk)
    title, other_title, _ = title_functions(cache_alias)
    title(book.pk), other_title(book.pk)
    with connections["other"].cursor() as cursor:
        cursor.execute(f"UPDATE {Book._meta.db_table} SET title = 'raw'")
    assert title.peek(book.pk) == "old"
    assert other_title(book.pk) == "raw"


def test_invalidate_on_database_after_raw_sql_there(cache_alias, per_database):
    """invalidate(on_database(alias, ...)): raw SQL on another database, said by hand."""
    book = make_book("old")
    make_book("old", using="other", pk=book.pk)
    title, other_title, other_titles = title_functions(cache_alias)
    title(book.pk), other_title(book.pk), other_titles()
    invalidate(on_database("other", (Book, book.pk)))
    assert title.peek(book.pk) == "old"  # computed from default: still valid
    assert other_title.peek(book.pk) is MISSING
    assert other_titles.peek() is MISSING  # a row write is a write to its table
    title(book.pk), other_title(book.pk), other_titles()
    invalidate(on_database("other", Book), title)
    assert other_titles.peek() is MISSING
    assert other_title.peek(book.pk) is MISSING
    assert title.peek(book.pk) is MISSING  # named by itself: every database
    with pytest.raises(ImproperlyConfiguredError, match="nests on_database"):
        invalidate(on_database("other", on_database("default", Book)))


def test_off_by_default_a_write_anywhere_invalidates(cache_alias):
    book = make_book("old")
    make_book("old", using="other", pk=book.pk)
    title, other_title, _ = title_functions(cache_alias)
    title(book.pk), other_title(book.pk)
    Book.objects.using("other").filter(pk=book.pk).update(title="other!")
    assert title.peek(book.pk) is MISSING
    assert other_title.peek(book.pk) is MISSING


def test_on_database_checks_its_arguments():
    with pytest.raises(ImproperlyConfiguredError, match=r"'nope' is not in settings\.DATABASES"):
        on_database("nope", Book)
    with pytest.raises(ImproperlyConfiguredError, match="at least one dependency"):
        on_database("other")
    assert repr(on_database("other", Book)) == (
        "on_database('other', <class 'demo_project.bookstore.models.Book'>)"
    )
