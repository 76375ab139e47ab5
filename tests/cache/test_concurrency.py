"""The concurrent-reader/commit race, on two real PostgreSQL connections."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connection, transaction

from demo_project.bookstore.models import Author, Book, Publisher
from perfkit.cache import cached


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("alias", ["default", "redis"])
def test_reader_computing_before_the_writers_commit_leaves_nothing_stale(request, alias):
    if alias == "redis":
        request.getfixturevalue("redis_cache")
    author = Author.objects.create(name="A")
    publisher = Publisher.objects.create(name="P")
    book = Book.objects.create(
        title="old",
        isbn="1",
        author=author,
        publisher=publisher,
        published=datetime.date(2020, 1, 1),
        price=1,
        pages=1,
    )

    @cached(timeout=60, cache=alias, depends_on=lambda pk: [(Book, pk)])
    def title(pk):
        return Book.objects.get(pk=pk).title

    written, commit = threading.Event(), threading.Event()
    errors = []

    def writer():
        try:
            with transaction.atomic():
                Book.objects.filter(pk=book.pk).update(title="new")
                written.set()
                commit.wait(10)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            from django.db import connection as thread_connection

            thread_connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    assert written.wait(10)
    # another connection: it cannot see the uncommitted update, and stores what it saw
    assert title(book.pk) == "old"
    assert title.peek(book.pk) == "old"
    commit.set()
    thread.join(10)
    assert not errors
    assert title(book.pk) == "new"  # the commit bumped the row generation again
    assert connection.vendor == "postgresql"
