"""Raw SQL writes through a Django cursor invalidate the models of the tables they write."""

from __future__ import annotations

import pytest
from django.db import connection, connections, transaction

from demo_project.bookstore.models import Book, Tag
from perfkit.cache import MISSING, cached
from perfkit.cache.rawsql import tables_written
from tests.cache.txkit import cache_alias, make_book

__all__ = ["cache_alias"]

BOOKS = Book._meta.db_table
TAGS = Book.tags.through._meta.db_table


def quoted(name, using="default"):
    return connections[using].ops.quote_name(name)


@pytest.fixture
def titles(cache_alias):
    @cached(timeout=60, cache=cache_alias, depends_on=[Book])
    def titles(using="default"):
        return sorted(Book.objects.using(using).values_list("title", flat=True))

    return titles


def raw(sql, params=(), using="default"):
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)


WRITES = {
    "update": lambda b: raw(f"UPDATE {quoted(BOOKS)} SET title = %s", ["raw"]),
    "update_lower_case": lambda b: raw(f"  update {BOOKS} set title = %s", ["raw"]),
    "delete": lambda b: raw(f"DELETE FROM {quoted(BOOKS)} WHERE id = %s", [b.pk]),
    "insert": lambda b: raw(
        f"INSERT INTO {quoted(BOOKS)} (title, isbn, author_id, publisher_id, published, price,"
        " pages) SELECT 'raw', 'raw-isbn', author_id, publisher_id, published, price, pages"
        f" FROM {quoted(BOOKS)} WHERE id = %s",
        [b.pk],
    ),
    "cte": lambda b: raw(
        f"WITH picked AS (SELECT id FROM {BOOKS}) UPDATE {BOOKS} SET title = 'raw'"
        " WHERE id IN (SELECT id FROM picked)"
    ),
}


@pytest.mark.parametrize("write", sorted(WRITES))
@pytest.mark.django_db
def test_raw_writes_invalidate(titles, write):
    book = make_book("old")
    assert titles() == ["old"]
    WRITES[write](book)
    assert titles.peek() is MISSING
    assert titles() == sorted(Book.objects.values_list("title", flat=True))


@pytest.mark.django_db(transaction=True)  # deferred FK checks forbid TRUNCATE in a test case
def test_truncate_invalidates(titles):
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL/MySQL/Oracle syntax; SQLite has none")
    make_book("old")
    titles()
    raw(f"TRUNCATE {quoted(BOOKS)}, {quoted(TAGS)} CASCADE")
    assert titles.peek() is MISSING


@pytest.mark.django_db
def test_replace_invalidates(titles):
    if connection.vendor not in {"sqlite", "mysql"}:
        pytest.skip("REPLACE INTO is SQLite/MySQL syntax")
    book = make_book("old")
    titles()
    raw(f"REPLACE INTO {BOOKS} SELECT * FROM {BOOKS} WHERE id = %s", [book.pk])
    assert titles.peek() is MISSING


@pytest.mark.django_db
def test_through_table_writes_invalidate_both_ends(cache_alias):
    book = make_book("old")
    tag = Tag.objects.create(name="t")

    @cached(timeout=60, cache=cache_alias, depends_on=[Tag])
    def tag_names():
        return sorted(Tag.objects.values_list("name", flat=True))

    @cached(timeout=60, cache=cache_alias, depends_on=[Book])
    def titles():
        return sorted(Book.objects.values_list("title", flat=True))

    tag_names(), titles()
    raw(f"INSERT INTO {TAGS} (book_id, tag_id) VALUES (%s, %s)", [book.pk, tag.pk])
    assert tag_names.peek() is MISSING
    assert titles.peek() is MISSING


@pytest.mark.django_db(databases=["default", "other"])
def test_raw_writes_on_another_database_invalidate(titles):
    make_book("old", using="other")
    assert titles("other") == ["old"]
    raw(f"UPDATE {BOOKS} SET title = 'raw'", using="other")
    assert titles("other") == ["raw"]


@pytest.mark.django_db(transaction=True)
def test_raw_writes_in_a_transaction_bump_at_commit(titles):
    make_book("old")
    titles()
    with transaction.atomic():
        raw(f"UPDATE {BOOKS} SET title = 'raw'")
        assert titles() == ["raw"]  # this block reads its own write
        assert titles.peek() is MISSING
    assert titles.peek() is MISSING
    assert titles() == ["raw"]


@pytest.mark.django_db
def test_the_setting_turns_it_off(titles, settings):
    settings.PERFKIT = {**settings.PERFKIT, "TRACK_RAW_SQL": False}
    make_book("old")
    titles()
    raw(f"UPDATE {BOOKS} SET title = 'raw'")
    assert titles() == ["old"]


@pytest.mark.django_db
def test_orm_writes_bump_once(signal_log):
    book = make_book("old")
    signal_log.clear()
    book.title = "new"
    book.save()
    Book.objects.filter(pk=book.pk).update(title="x")
    Book.objects.filter(pk=book.pk).delete()
    sent = [kw["targets"] for name, kw in signal_log if name == "cache_invalidated"]
    # the compiler hooks' row-precise bumps only: the raw SQL wrapper skipped their statements
    assert sent[:2] == [[f"bookstore.book:{book.pk}"]] * 2
    assert ["bookstore.book"] not in sent  # what a raw SQL bump of the table would send


def test_tables_written():
    assert tables_written('UPDATE "app_book" SET x = 1') == {"app_book"}
    assert tables_written("insert or replace into main.`app_book` (a) values (1)") == {"app_book"}
    assert tables_written("INSERT IGNORE INTO [app_book] VALUES (1)") == {"app_book"}
    assert tables_written("DELETE FROM ONLY public.app_book") == {"app_book"}
    assert tables_written('TRUNCATE TABLE "a", b RESTART IDENTITY') == {"a", "b"}
    assert tables_written("REPLACE app_book VALUES (1)") == {"app_book"}
    assert tables_written("SELECT 1") == set()
