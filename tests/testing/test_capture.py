from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection, connections, transaction

from demo_project.bookstore.models import Author, Book
from perfkit.exceptions import ImproperlyConfiguredError
from perfkit.testing import capture_queries
from tests.testing.helpers import here

pytestmark = pytest.mark.django_db(databases=["default", "other"])

COUNT = 'SELECT COUNT(*) AS "__count" FROM "bookstore_author" WHERE "bookstore_author"."id" = %s'
SHAPE = "SELECT COUNT(*) AS __count FROM bookstore_author WHERE bookstore_author.id = ?"


def test_captured_query_fields():
    with capture_queries() as log:
        Author.objects.filter(pk=7).count()
        line = here(-1)
    assert len(log) == 1
    query = log[0]
    assert query.sql == COUNT
    assert list(query.params) == [7]
    assert query.alias == "default"
    assert query.duration >= 0
    assert query.fingerprint == SHAPE
    assert query.location == line
    assert query.is_transaction_noise is False


def test_works_with_debug_false_and_no_query_limit(settings):
    settings.DEBUG = False
    with capture_queries() as log:
        for pk in range(9100):
            connection.cursor().execute("SELECT %s", [pk])
    assert len(log) == 9100
    assert log.count() == 9100


def test_using_one_alias_or_all():
    with capture_queries() as every, capture_queries("other") as other:
        Author.objects.count()
        Author.objects.using("other").count()
        Author.objects.using("other").exists()
    assert [q.alias for q in every] == ["default", "other", "other"]
    assert every.count("default") == 1
    assert every.count("other") == 2
    assert [q.alias for q in other] == ["other", "other"]
    with capture_queries(["default", "other"]) as both:
        Author.objects.count()
    assert len(both) == 1


def test_unknown_alias_is_a_clear_error():
    with pytest.raises(ImproperlyConfiguredError) as info, capture_queries("nope"):
        pass
    assert str(info.value) == (
        "capture_queries(using='nope'): no database named 'nope'; choose among "
        "['default', 'other'] or pass using=None for all."
    )


def test_transaction_noise_is_flagged_and_not_counted():
    with capture_queries() as log, transaction.atomic():
        Author.objects.create(name="A")
    sqls = [q.sql.split()[0] for q in log]
    assert sqls == ["SAVEPOINT", "INSERT", "RELEASE"]
    assert [q.is_transaction_noise for q in log] == [True, False, True]
    assert log.count() == 1
    assert log.count(include_noise=True) == 3


def test_duplicates_similar_and_nplusone_groups():
    authors = [Author.objects.create(name=f"A{i}") for i in range(3)]
    with capture_queries() as log:
        for author in authors:  # N+1: one shape, one place, three params
            Author.objects.filter(pk=author.pk).count()
            line = here(-1)
        Author.objects.filter(pk=authors[0].pk).count()  # identical to the first, other line
        other_line = here(-1)
    duplicates = log.duplicates()
    assert [(g.count, g.locations) for g in duplicates] == [(2, [line, other_line])]
    similar = log.similar()
    assert [g.count for g in similar] == [4]
    nplusone = log.nplusone(threshold=2)
    assert len(nplusone) == 1
    group = nplusone[0]
    assert group.count == 3
    assert group.location == line
    assert group.fingerprint == SHAPE
    assert len(group.queries) == 3
    assert log.nplusone(threshold=4) == []


def test_nested_captures_both_receive_queries():
    from django.db.backends.base.base import BaseDatabaseWrapper

    original = BaseDatabaseWrapper._prepare_cursor
    with capture_queries() as outer:
        Author.objects.count()
        with capture_queries() as inner:
            Author.objects.count()
    assert (len(outer), len(inner)) == (2, 1)
    # after the block, nothing is installed any more
    # (perfkit.cache's raw SQL wrapper stays: it is installed on every connection for good)
    from perfkit.instrument.queries import _dispatch

    assert all(_dispatch not in c.execute_wrappers for c in connections.all(initialized_only=True))
    assert BaseDatabaseWrapper._prepare_cursor is original


def test_async_orm_in_the_block_is_captured():
    async def load() -> int:
        found = await Author.objects.filter(pk=1).acount()
        await sync_to_async(connections.close_all)()  # the executor thread's connection
        return found

    with capture_queries() as log:
        asyncio.run(load())
    assert [q.sql for q in log] == [COUNT]

    async def load_in_thread() -> int:
        return await Author.objects.filter(pk=2).acount()

    with capture_queries() as log:
        async_to_sync(load_in_thread)()
    assert [q.params for q in log] == [(2,)]


def _run_in_thread(pk: int) -> None:
    def work() -> None:
        try:
            Book.objects.filter(pk=pk).count()
        finally:
            connections.close_all()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


def test_other_threads_only_with_threads_true():
    with capture_queries() as log:
        _run_in_thread(1)
    assert len(log) == 0
    with capture_queries(threads=True) as log:
        _run_in_thread(2)
        Author.objects.count()
    assert [q.params for q in log] == [(2,), ()]


def test_locations_can_be_turned_off(settings):
    settings.PERFKIT = {"CAPTURE_LOCATIONS": False}
    with capture_queries() as log:
        Author.objects.count()
    assert log[0].location is None
    with capture_queries(locations=True) as log:
        Author.objects.count()
    assert log[0].location == here(-1)


def test_template_location_is_put_in_front(bookstore, settings):
    from django.template import Context, Engine

    engine = Engine(debug=True)
    template = engine.from_string("{% for b in books %}\n{{ b.author.name }}\n{% endfor %}")
    books = list(Book.objects.order_by("id")[:2])
    with capture_queries() as log:
        template.render(Context({"books": books}))
        line = here(-1)
    assert len(log) == 2
    assert log[0].location == f"<unknown source>:2 / {line}"
