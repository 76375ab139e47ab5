"""The database cache on PostgreSQL: perfkit's cache writes never hold row locks in the
caller's transaction, so concurrent writers neither wait for each other nor deadlock."""

from __future__ import annotations

import threading

import pytest
from django.db import connections, transaction

from demo_project.bookstore.models import Author, Book
from perfkit.cache import MISSING, cached
from tests.cache.txkit import make_book

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WAIT = 10  # seconds a step may take before the test calls it blocked


@pytest.fixture
def db_only(db_cache, settings):
    settings.PERFKIT = {**settings.PERFKIT, "CACHE_ALIAS": "db"}
    db_cache.clear()


class Writer(threading.Thread):
    """Runs ``steps`` in one transaction; each step waits for its go-ahead event."""

    def __init__(self, steps):
        super().__init__()
        self.steps = steps  # [(wait_for: Event | None, action, done: Event)]
        self.errors = []

    def run(self):
        try:
            with transaction.atomic():
                for wait_for, action, done in self.steps:
                    if wait_for is not None:
                        assert wait_for.wait(WAIT * 2)
                    action()
                    done.set()
        except BaseException as exc:  # reported by the test
            self.errors.append(exc)
        finally:
            connections.close_all()


def rename(model, pk, name):
    field = "title" if model is Book else "name"
    return lambda: model.objects.filter(pk=pk).update(**{field: name})


def test_writers_to_different_rows_do_not_wait_for_each_other(db_only):
    first, second = make_book("first"), make_book("second")

    @cached(timeout=60, depends_on=lambda pk: [(Book, pk)])
    def title(pk):
        return Book.objects.get(pk=pk).title

    title(first.pk), title(second.pk)
    a_wrote, b_wrote, a_commit, a_done = (threading.Event() for _ in range(4))
    a = Writer(
        [(None, rename(Book, first.pk, "first!"), a_wrote), (a_commit, lambda: None, a_done)]
    )
    b = Writer([(a_wrote, rename(Book, second.pk, "second!"), b_wrote)])
    a.start(), b.start()
    blocked = not b_wrote.wait(WAIT)  # A holds its transaction open meanwhile
    a_commit.set()
    a.join(WAIT * 3), b.join(WAIT * 3)
    assert not blocked, "the second writer waited for the first one's transaction"
    assert not a.errors
    assert not b.errors
    assert title.peek(first.pk) is MISSING
    assert title.peek(second.pk) is MISSING
    assert (title(first.pk), title(second.pk)) == ("first!", "second!")


def test_writers_in_opposite_order_do_not_deadlock(db_only):
    book = make_book("book")
    other = make_book("other")

    @cached(timeout=60, depends_on=[Book, Author])
    def names():
        return sorted(Book.objects.values_list("title", flat=True)), sorted(
            Author.objects.values_list("name", flat=True)
        )

    names()
    a1, b1, a2, b2 = (threading.Event() for _ in range(4))
    # A: a book, then an author; B: an author, then a book (different rows, opposite order)
    a = Writer(
        [
            (None, rename(Book, book.pk, "book!"), a1),
            (b1, rename(Author, book.author_id, "A!"), a2),
        ]
    )
    b = Writer(
        [
            (a1, rename(Author, other.author_id, "B!"), b1),
            (a2, rename(Book, other.pk, "other!"), b2),
        ]
    )
    a.start(), b.start()
    a_blocked = not a2.wait(WAIT)  # A's second write while B's transaction is open
    b_blocked = not b2.wait(WAIT)
    a.join(WAIT * 3), b.join(WAIT * 3)
    assert not a_blocked, "A waited for B's cache rows"
    assert not b_blocked, "B waited for A's cache rows"
    assert not a.errors
    assert not b.errors
    assert names.peek() is MISSING
    assert names() == (["book!", "other!"], ["A!", "B!"])


def test_the_cache_connection_is_autocommit_and_closes_with_the_callers(db_only):
    from django.db import connection

    from demo_project.bookstore.models import Tag

    @cached(timeout=60, depends_on=[Tag])
    def tags():
        return Tag.objects.count()

    with transaction.atomic():
        make_book("inside")
        assert tags() == 0  # not written in this transaction: cached, off the transaction
        assert tags.peek() == 0
    second = connection._perfkit_second
    assert second.connection is not None
    assert second.get_autocommit()
    assert not second.in_atomic_block
    connection.close()
    assert second.connection is None
