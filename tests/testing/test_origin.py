"""What a captured query knows about its origin: the relation it loads, the user frames that
called it, the request that ran it, and whether a connection's set-up ran it."""

from __future__ import annotations

import pytest
from django.db import connections
from django.db.backends.signals import connection_created

from demo_project.bookstore.models import Author, Book, Tag
from demo_project.bookstore.services import book_list_naive
from perfkit.exceptions import PerfAssertionError
from perfkit.testing import (
    assert_no_duplicate_queries,
    assert_no_nplusone,
    assert_num_queries,
    capture_queries,
)
from tests.testing.helpers import here

pytestmark = pytest.mark.django_db


def _relations(log):
    return [q.relation for q in log]


def test_the_relation_each_lazy_load_loads(bookstore):
    book = Book.objects.filter(tags__isnull=False).first()
    author = Author.objects.first()
    tag = Tag.objects.first()
    with capture_queries() as log:
        book.author  # noqa: B018
        book.publisher  # noqa: B018
        list(author.books.all())
        author.books.count()
        list(book.tags.all())
        list(tag.books.all())
        list(book.reviews.all())
        Author.objects.count()  # no relation
    assert _relations(log) == [
        "bookstore.Book.author",
        "bookstore.Book.publisher",
        "bookstore.Author.books",
        "bookstore.Author.books",
        "bookstore.Book.tags",
        "bookstore.Tag.books",
        "bookstore.Book.reviews",
        None,
    ]


def _count_in_a_helper(pk):
    Author.objects.filter(pk=pk).count()
    return here(-1)


def test_a_helper_query_names_the_test_line_too(bookstore):
    with pytest.raises(PerfAssertionError) as info, assert_num_queries(0):  # noqa: PT012
        inner = _count_in_a_helper(1)
        line = here(-1)
    assert f"  1. [default] {inner} <- {line}\n" in str(info.value)


# --- allow-lists by relation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("allow", "left"),
    [
        (["bookstore.Book.author", "bookstore.Book.publisher"], ["Book.tags", "Book.reviews"]),
        (["bookstore.Book.[ap]*"], ["Book.tags", "Book.reviews"]),
        (["bookstore.Book"], []),  # a model: every relation of it
        (["bookstore.B*", r"bookstore_tag"], []),  # a wildcard and a SQL regex together
        (["bookstore.A*"], ["Book.tags", "Book.reviews", "Book.author", "Book.publisher"]),
    ],
)
def test_allow_by_relation(bookstore, allow, left):
    if not left:
        with assert_no_nplusone(allow=allow):
            book_list_naive(1, 5)
        return
    with pytest.raises(PerfAssertionError) as info, assert_no_nplusone(allow=allow):
        book_list_naive(1, 5)
    named = [
        line.split(" loading ")[1].split(",")[0]
        for line in str(info.value).splitlines()
        if " loading " in line
    ]
    assert sorted(named) == sorted(left)


def test_allow_by_relation_in_the_setting(bookstore, settings):
    settings.PERFKIT = {"NPLUSONE_ALLOW": ["bookstore.Book.*"]}
    with assert_no_nplusone():
        book_list_naive(1, 5)


# --- per request -----------------------------------------------------------------------------


def test_two_requests_of_a_one_author_page_are_no_nplusone(client, bookstore):
    author = Author.objects.first()
    with assert_no_nplusone(), assert_no_duplicate_queries():
        assert client.get(f"/authors/{author.pk}/").status_code == 200
        assert client.get(f"/authors/{author.pk}/").status_code == 200


def test_an_nplusone_inside_one_request_is_still_found(client, bookstore):
    with pytest.raises(PerfAssertionError) as info, assert_no_nplusone():  # noqa: PT012
        client.get("/books/naive/?size=5")
        client.get("/books/naive/?size=5")
    assert "  5x `SELECT ... FROM bookstore_author WHERE" in str(info.value)
    assert "  10x" not in str(info.value)  # two requests: two groups of 5, not one of 10


# --- queries a connection runs to set itself up (Django #28203) ------------------------------


def test_connection_setup_queries_are_not_counted():
    def configure(sender, connection, **kwargs):  # a project's PRAGMA / SET on connect
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    connection_created.connect(configure)
    fresh = connections.create_connection("default")
    try:
        with capture_queries() as log, fresh.cursor() as cursor:
            cursor.execute("SELECT 2")
        assert [q.sql for q in log.counted()] == ["SELECT 2"]
        assert [q.sql for q in log if q.setup] == ["SELECT 1"]
        assert log.count() == 1
    finally:
        connection_created.disconnect(configure)
        fresh.close()


def test_async_client_requests_are_scoped_too(bookstore):
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    author = Author.objects.first()

    async def two_requests():
        client = AsyncClient()
        for _ in range(2):
            response = await client.get(f"/authors/{author.pk}/")
            assert response.status_code == 200

    with capture_queries() as log:
        async_to_sync(two_requests)()
    requests = {q.request for q in log}
    assert len(requests) == 2
    assert None not in requests
    assert log.nplusone() == []
