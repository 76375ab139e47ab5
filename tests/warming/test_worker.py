"""perfkit.warming with a real worker on the real Redis broker and result backend."""

from __future__ import annotations

import datetime
import time

import pytest
from celery.signals import task_postrun, task_prerun
from django.db import connection
from django.test.utils import CaptureQueriesContext

from demo_project.bookstore.models import Author, Book
from perfkit.cache import cached
from perfkit.cache import registry as cache_registry
from perfkit.exceptions import WarmingArgumentError, WarmingError
from perfkit.warming import warm, warmer
from tests.warming import cachedfuncs
from tests.warming.conftest import queued, running_worker, watch_progress

pytestmark = [
    pytest.mark.redis,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
]


def test_warm_fills_the_cache_through_the_worker(celery_app, records, bookstore):
    ids = list(Book.objects.values_list("id", flat=True))
    warmer(
        cachedfuncs.book_title,
        name="t.books",
        args=lambda: Book.objects.values_list("id", flat=True),
        chunk_size=7,
    )
    with running_worker(celery_app):
        summary = warm("t.books", wait=True, timeout=60)
    assert summary["warmer"] == "t.books"
    assert (summary["total"], summary["stored"], summary["chunks"]) == (30, 30, 5)
    assert summary["failed"] == []
    titles = dict(Book.objects.values_list("id", "title"))
    assert {i: cachedfuncs.book_title.peek(i) for i in ids} == titles
    computed = records.recorded()
    assert len(computed) == 30
    assert not [c for c in computed if c.endswith(":MainThread")]


def test_instance_args_load_with_one_query_per_chunk(celery_app, records, bookstore):
    authors = list(Author.objects.all())
    warmer(cachedfuncs.author_label, name="t.authors", args=Author.objects.all, chunk_size=4)
    per_chunk: dict[str, list[str]] = {}
    contexts: dict[str, CaptureQueriesContext] = {}

    def start(task_id, task, **kwargs):
        if task.name == "perfkit.warm_chunk":
            contexts[task_id] = CaptureQueriesContext(connection)
            contexts[task_id].__enter__()

    def stop(task_id, task, **kwargs):
        if task_id in contexts:
            contexts[task_id].__exit__(None, None, None)
            per_chunk[task_id] = [q["sql"] for q in contexts[task_id].captured_queries]

    task_prerun.connect(start, weak=False)
    task_postrun.connect(stop, weak=False)
    try:
        with running_worker(celery_app):
            summary = warm("t.authors", wait=True, timeout=60)
    finally:
        task_prerun.disconnect(start)
        task_postrun.disconnect(stop)
    assert summary["stored"] == len(authors)
    assert len(per_chunk) == -(-len(authors) // 4)
    for queries in per_chunk.values():
        assert len(queries) == 1, queries
        assert '"bookstore_author"."id" IN (' in queries[0]
    assert {a.pk: cachedfuncs.author_label.peek(a) for a in authors} == {
        a.pk: f"{a.name} ({a.country})" for a in authors
    }


def test_a_value_that_is_not_json_fails_at_enqueue_naming_warmer_and_value(celery_app, records):
    warmer(cachedfuncs.square, name="t.dates", args=lambda: [1, datetime.date(2024, 1, 2)])
    expected = (
        "Warmer 't.dates' planned a value that cannot be sent as JSON: "
        "datetime.date(2024, 1, 2) (date) in call (datetime.date(2024, 1, 2)). Warmer "
        "arguments must be JSON values (str, int, float, bool, None, lists, dicts with str "
        "keys), tuples of them, or model instances; convert other values first, e.g. "
        "date.isoformat() or str(uuid)."
    )
    with running_worker(celery_app), pytest.raises(WarmingArgumentError) as info:
        warm("t.dates", wait=True, timeout=30)
    assert str(info.value) == expected
    # nothing was sent for the good value either: the plan fails before any chunk is queued
    assert records.recorded() == []
    assert queued(celery_app) == 0


def test_progress_is_readable_through_the_result_backend(celery_app, records):
    warmer(
        cachedfuncs.slow,
        name="t.progress",
        args=lambda: [{"n": n, "seconds": 0.25} for n in range(6)],
        chunk_size=2,
    )
    with running_worker(celery_app):
        result = warm("t.progress")
        progress, summary = watch_progress(result)
    assert progress
    assert {p["total"] for p in progress} == {6}
    done = [p["done"] for p in progress]
    assert done == sorted(done)
    assert set(done) <= {0, 2, 4, 6}
    assert len(set(done)) >= 2
    assert summary["stored"] == 6
    assert result.state == "SUCCESS"


def test_transient_failures_retry_with_backoff_and_others_are_reported(celery_app, records):
    warmer(cachedfuncs.flaky, name="t.flaky", args=lambda: range(1, 6), chunk_size=5)
    with running_worker(celery_app):
        summary = warm("t.flaky", wait=True, timeout=60)
    assert summary["stored"] == 4
    assert summary["failed"] == [[[4], {}, "ValueError: four is not allowed"]]
    tries = [c.split(":")[1] for c in records.recorded()]
    # first pass computes all five; the retry recomputes only the ConnectionError ones
    assert tries == ["1", "2", "3", "4", "5", "1", "3", "5"]
    assert [cachedfuncs.flaky.peek(n) for n in (1, 2, 3, 5)] == [1, 2, 3, 5]


def test_the_same_chunk_does_not_run_twice_at_once(celery_app, records):
    warmer(cachedfuncs.blocking, name="t.blocking", args=lambda: [1, 2])
    with running_worker(celery_app, pool="threads", concurrency=2):
        first = warm("t.blocking")
        assert records.wait_for(lambda: len(records.recorded()) >= 1, timeout=20)
        second = warm("t.blocking")
        skipped = second.get(timeout=30)
        records.release.set()
        done = first.get(timeout=30)
    assert (skipped["stored"], skipped["skipped"]) == (0, 2)
    assert (done["stored"], done["skipped"]) == (2, 0)
    assert sorted(records.recorded(), key=lambda c: c.split(":")[1])[0].startswith("blocking:1")
    assert len(records.recorded()) == 2


def test_a_warmer_with_nothing_to_warm_succeeds_at_once(celery_app, records):
    warmer(cachedfuncs.square, name="t.empty", args=lambda: [])
    with running_worker(celery_app):
        summary = warm("t.empty", wait=True, timeout=30)
    assert (summary["total"], summary["stored"], summary["chunks"]) == (0, 0, 0)


@pytest.mark.slow
def test_a_cache_outage_retries_the_chunk_with_backoff_then_reports(celery_app, records, settings):
    settings.CACHES = {
        **settings.CACHES,
        "unreachable": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens on the discard port
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        },
    }

    # defined here, not in cachedfuncs: a module-level function on an alias missing from
    # CACHES would trip perfkit.cache's own check (perfkit.E102) in other tests
    @cached(cache="unreachable", timeout=600)
    def on_dead_cache(n: int) -> int:
        return n

    warmer(on_dead_cache, name="t.dead", args=lambda: [1, 2])
    started = time.monotonic()
    try:
        with running_worker(celery_app):
            summary = warm("t.dead", wait=True, timeout=60)
    finally:
        cache_registry.pop(on_dead_cache.perfkit_name)
    assert summary["stored"] == 0
    assert [f[:2] for f in summary["failed"]] == [[[1], {}], [[2], {}]]
    assert {f[2] for f in summary["failed"]} == {
        "ConnectionError: Error 111 connecting to 127.0.0.1:9. Connection refused. "
        "(after 3 retries)"
    }
    # three retries after 1 + 2 + 4 s of backoff
    assert time.monotonic() - started >= 7


def test_warm_without_a_name_enqueues_every_warmer(celery_app, records):
    warmer(cachedfuncs.square, name="t.all.a", args=lambda: [2, 3])
    warmer(cachedfuncs.urgent, name="t.all.b", args=lambda: [5])
    with pytest.raises(WarmingError, match=r"^t\.all\.a: priority must be an int from 0"):
        warm("t.all.a", priority=10)
    with running_worker(celery_app):
        summaries = warm(wait=True, timeout=60)
    assert {name: s["stored"] for name, s in summaries.items()} == {"t.all.a": 2, "t.all.b": 1}
