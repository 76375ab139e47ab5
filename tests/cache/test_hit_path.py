"""The hit path's shortcuts (remembered keys, stored tuples, the direct Redis read) keep every
rule of the slow path: one call's entry never answers another call."""

from __future__ import annotations

from collections import namedtuple

import pytest
from django.core.cache import caches

from demo_project.bookstore.models import Author
from perfkit.cache import cached, invalidate


def test_plain_arguments_of_different_types_keep_their_own_entries(alias):
    calls = []

    @cached(timeout=60, cache=alias)
    def echo(value):
        calls.append(value)
        return (type(value).__name__, value)

    for _ in range(2):  # the second round is all hits, from the remembered keys
        assert echo(1) == ("int", 1)
        assert echo(True) == ("bool", True)
        assert echo(1.0) == ("float", 1.0)
        assert echo("1") == ("str", "1")
        assert echo(2) == ("int", 2)
    assert [type(v).__name__ for v in calls] == ["int", "bool", "float", "str", "int"]


def test_keyword_and_positional_calls_share_an_entry(alias):
    calls = []

    @cached(timeout=60, cache=alias)
    def page(number, size=10):
        calls.append((number, size))
        return number * size

    assert page(2) == page(2, 10) == page(number=2) == page(2, size=10) == 20
    assert calls == [(2, 10)]


@pytest.mark.django_db(transaction=True)
def test_a_dependency_callable_runs_on_every_call(alias, request):
    """Its result is remembered as keys, not the callable's answer: when the answer changes,
    the entry follows the new row."""
    if alias == "db":
        request.getfixturevalue("db_cache")
    first = Author.objects.create(name="First")
    second = Author.objects.create(name="Second")
    owner = {"book": first.pk}
    calls = []

    @cached(timeout=60, cache=alias, depends_on=lambda key: (Author, owner[key]))
    def author_name(key):
        calls.append(key)
        return Author.objects.get(pk=owner[key]).name

    assert author_name("book") == author_name("book") == "First"
    owner["book"] = second.pk  # the callable now names another row
    assert author_name("book") == "Second"  # its generation is not the stored one: recomputed
    assert author_name("book") == "Second"
    Author.objects.filter(pk=second.pk).update(name="Renamed")
    assert author_name("book") == "Renamed"  # a write to the row it depends on now
    Author.objects.filter(pk=first.pk).update(name="Gone")
    assert author_name("book") == "Renamed"  # the old row no longer matters
    assert len(calls) == 3


_Pk2 = namedtuple("_Pk2", "magic value tokens computed_at compute_time soft")


def test_entries_in_the_previous_envelope_format_are_recomputed(alias, signal_log):
    calls = []

    @cached(timeout=60, cache=alias)
    def answer(n):
        calls.append(n)
        return n * 2

    assert answer(21) == 42
    cache = caches[alias]
    key = answer.key_for(21)
    stored = cache.get(key)
    old = _Pk2("pk2", 0, stored[2], stored[3], stored[4], stored[5])
    cache.set(key, old, 60)
    assert answer(21) == 42  # an unknown envelope: a miss, never the old value
    assert answer(21) == 42
    assert calls == [21, 21]
    invalidate(answer)
    assert answer(21) == 42
    assert calls == [21, 21, 21]


def test_a_key_callable_is_asked_on_every_call(alias):
    """A key= callable may read more than the arguments: its keys are never remembered."""
    context = {"language": "en"}
    calls = []

    @cached(timeout=60, cache=alias, key=lambda n: f"greeting:{n}:{context['language']}")
    def greeting(n):
        calls.append(context["language"])
        return f"{context['language']}-{n}"

    assert greeting(1) == greeting(1) == "en-1"
    context["language"] = "fr"
    assert greeting(1) == greeting(1) == "fr-1"
    context["language"] = "en"
    assert greeting(1) == "en-1"
    assert calls == ["en", "fr"]
