"""Transactions and the cache: read-your-writes, savepoints, other databases, isolation levels.

Each scenario runs on locmem, Redis and the database cache (``cache_alias``), on SQLite and
PostgreSQL; the ones that need two concurrent PostgreSQL connections are marked ``postgres``.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from demo_project.bookstore.models import Author, Book
from perfkit.cache import MISSING, cached
from tests.cache.txkit import cache_alias, in_thread, make_book, title_of

__all__ = ["cache_alias"]


class Rollback(Exception):
    pass


def rolled_back(write):
    """Run ``write()`` in an atomic block that then rolls back."""
    try:
        with transaction.atomic():
            write()
            raise Rollback
    except Rollback:
        pass


def title_function(alias, using="default", timeout=60):
    @cached(timeout=timeout, cache=alias, depends_on=lambda pk: [(Book, pk)])
    def title(pk):
        return title_of(pk, using)

    return title


@pytest.mark.django_db(transaction=True)
def test_a_released_savepoint_keeps_reading_its_own_writes(cache_alias):
    book = make_book("old")
    title = title_function(cache_alias)
    with transaction.atomic():
        with transaction.atomic():
            Book.objects.filter(pk=book.pk).update(title="new")
        # the savepoint is released; the write belongs to the open outer block now.  Another
        # connection still reads the committed title and caches it meanwhile
        assert in_thread(title, book.pk, sqlite_sees="old") == "old"
        assert title(book.pk) == "new"
        assert title.peek(book.pk) is MISSING
    assert title(book.pk) == "new"
    assert title.peek(book.pk) == "new"


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_savepoint_discards_only_its_own_writes(cache_alias):
    first, second = make_book("first"), make_book("second")
    title = title_function(cache_alias)
    with transaction.atomic():
        Book.objects.filter(pk=first.pk).update(title="first!")
        rolled_back(lambda: Book.objects.filter(pk=second.pk).update(title="second!"))
        assert title(second.pk) == "second"
        assert title.peek(second.pk) == "second"  # its write is gone: cached as usual
        assert title(first.pk) == "first!"
        assert title.peek(first.pk) is MISSING  # still written by the open block
    assert title(first.pk) == "first!"
    assert title.peek(first.pk) == "first!"


@pytest.mark.django_db(transaction=True)
def test_nested_savepoints_merge_up_level_by_level(cache_alias):
    book = make_book("old")
    title = title_function(cache_alias)
    with transaction.atomic():
        with transaction.atomic():
            with transaction.atomic():
                Book.objects.filter(pk=book.pk).update(title="new")
            assert title.peek(book.pk) is MISSING
        rolled_back(lambda: None)  # a sibling savepoint's rollback keeps the merged write
        assert in_thread(title, book.pk, sqlite_sees="old") == "old"
        assert title(book.pk) == "new"
    assert title(book.pk) == "new"


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_a_commit_on_another_database_survives_a_rollback_on_default(cache_alias):
    book = make_book("old", using="other")
    title = title_function(cache_alias, using="other")
    assert title(book.pk) == "old"

    def write():
        Author.objects.create(name="written on default")
        with transaction.atomic(using="other"):
            Book.objects.using("other").filter(pk=book.pk).update(title="new")
        # "other" has committed: its bump must not be undone by default's rollback

    rolled_back(write)
    assert title(book.pk) == "new"
    assert title.peek(book.pk) == "new"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_caching_before_another_connections_commit_is_safe(cache_alias, signal_log):
    book = make_book("old")
    title = title_function(cache_alias)
    written, commit = threading.Event(), threading.Event()
    errors = []

    def writer():
        try:
            with transaction.atomic():
                Book.objects.filter(pk=book.pk).update(title="new")
                written.set()
                assert commit.wait(10)
        except BaseException as exc:  # reported below
            errors.append(exc)
            written.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=writer)
    thread.start()
    assert written.wait(10)
    assert title(book.pk) == "old"  # the write is not committed: "old" is right, and cached
    assert title.peek(book.pk) == "old"
    commit.set()
    thread.join(10)
    assert not errors
    assert [kw["error"] for name, kw in signal_log if name == "cache_error"] == []
    assert title(book.pk) == "new"


@pytest.fixture
def repeatable_read():
    """The default connection, reopened with REPEATABLE READ (OPTIONS isolation_level)."""
    from django.db.backends.postgresql.psycopg_any import IsolationLevel

    options = connection.settings_dict.setdefault("OPTIONS", {})
    connection.close()
    options["isolation_level"] = IsolationLevel.REPEATABLE_READ
    yield
    connection.close()
    del options["isolation_level"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_repeatable_read_never_stores_an_old_snapshot(cache_alias, repeatable_read):
    book = make_book("old")
    title = title_function(cache_alias, timeout=None)
    with transaction.atomic():
        assert Book.objects.count() == 1  # the snapshot starts here
        with connection.cursor() as cursor:
            cursor.execute("SHOW transaction_isolation")
            assert cursor.fetchone()[0] == "repeatable read"

        def write():
            Book.objects.filter(pk=book.pk).update(title="new")  # committed at once

        in_thread(write)
        # this snapshot predates the commit: the old title is right here, but not storable
        assert title(book.pk) == "old"
        assert title.peek(book.pk) is MISSING
    assert title(book.pk) == "new"
    assert title.peek(book.pk) == "new"


@pytest.mark.django_db(transaction=True)
def test_read_committed_transactions_still_store(cache_alias):
    book = make_book("old")
    title = title_function(cache_alias)
    with transaction.atomic():
        Author.objects.create(name="unrelated")
        assert title(book.pk) == "old"
        assert title.peek(book.pk) == "old"
