"""Read replicas: a value computed within ``PERFKIT["REPLICA_LAG"]`` seconds of a bump of one
of its generations is served but not stored (the replica may not have the write yet).

"other" plays a lagging replica: a router reads the bookstore from it and writes to "default",
and the test copies rows over by hand, late, with invalidation off (as replication would).
"""

from __future__ import annotations

import pytest
from django.test import override_settings

from demo_project.bookstore.models import Author, Book, Publisher
from perfkit.cache import MISSING, cached, generations
from tests.cache.txkit import cache_alias, make_book

__all__ = ["cache_alias"]

pytestmark = pytest.mark.django_db(databases=["default", "other"])


class ReplicaRouter:
    """The bookstore reads from "other" and writes to "default"."""

    def db_for_read(self, model, **hints):
        return "other" if model._meta.app_label == "bookstore" else None

    def db_for_write(self, model, **hints):
        return "default" if model._meta.app_label == "bookstore" else None

    def allow_relation(self, obj1, obj2, **hints):
        return True


def replicate():
    """Copy the bookstore rows from "default" to "other" (replication catching up)."""
    with override_settings(PERFKIT={"KEY_PREFIX": "pkt", "INVALIDATION": False}):
        for model in (Author, Publisher, Book):
            for obj in model.objects.using("default").all():
                obj.save(using="other")


@pytest.fixture
def clock(monkeypatch):
    """perfkit's wall clock, moved by hand: ``clock.now += 10``."""

    class Clock:
        now = 1_800_000_000.0

    monkeypatch.setattr(generations, "clock", lambda: Clock.now)
    return Clock


@pytest.fixture
def replica(settings):
    settings.DATABASE_ROUTERS = [f"{__name__}.ReplicaRouter"]
    settings.PERFKIT = {**settings.PERFKIT, "REPLICA_LAG": 5}


def test_a_value_read_within_the_lag_is_served_not_stored(cache_alias, replica, clock):
    book = make_book("old")
    replicate()

    @cached(timeout=None, cache=cache_alias, depends_on=lambda pk: [(Book, pk)])
    def title(pk):
        return Book.objects.get(pk=pk).title  # the router reads from the replica

    clock.now += 10  # long after the book was written
    assert title(book.pk) == "old"
    assert title.peek(book.pk) == "old"
    Book.objects.filter(pk=book.pk).update(title="new")  # on default; the replica lags
    assert title(book.pk) == "old"  # what the replica says, served...
    assert title.peek(book.pk) is MISSING  # ...but not stored
    replicate()
    assert title(book.pk) == "new"
    assert title.peek(book.pk) is MISSING  # still within the lag
    clock.now += 10
    assert title(book.pk) == "new"
    assert title.peek(book.pk) == "new"


def test_without_the_setting_values_are_stored_at_once(cache_alias, replica, clock, settings):
    settings.PERFKIT = {**settings.PERFKIT, "REPLICA_LAG": 0}
    book = make_book("old")
    replicate()

    @cached(timeout=60, cache=cache_alias, depends_on=lambda pk: [(Book, pk)])
    def title(pk):
        return Book.objects.get(pk=pk).title

    assert title(book.pk) == "old"
    assert title.peek(book.pk) == "old"


def test_tokens_carry_the_bump_time(clock):
    token = generations.new_token()
    assert generations.bumped_at(token) == clock.now
    assert generations.new_token() != token
    assert generations.bumped_at(generations.created_token()) == 0.0
    assert generations.bumped_at("not a token") == 0.0
