"""JSON-only arguments: what is encoded comes back identical, instances with one query."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from demo_project.bookstore.models import Author, Book
from perfkit.exceptions import WarmingArgumentError
from perfkit.warming.encoding import decode_calls, encode_call


def test_plain_values_tuples_and_tag_like_dicts_round_trip():
    call = (
        (1, "a", None, True, 2.5, (1, (2, 3)), [1, [2]]),
        {"t": {"t": 1}, "d": {"m": 1, "pk": 2}, "x": {"y": [1, 2]}},
    )
    encoded = encode_call(call, warmer="w")
    wire = json.loads(json.dumps(encoded))
    [decoded], failures = decode_calls([wire])
    assert failures == []
    assert decoded == call
    assert isinstance(decoded[0][5], tuple)
    assert isinstance(decoded[0][5][1], tuple)


@pytest.mark.django_db
def test_instances_travel_as_label_and_pk_and_load_with_one_query_per_model(bookstore):
    books = list(Book.objects.all()[:5])
    authors = list(Author.objects.all()[:3])
    encoded = [
        encode_call(((b,), {"author": authors[i % 3]}), warmer="w") for i, b in enumerate(books)
    ]
    assert encoded[0] == [
        [{"m": "bookstore.book", "pk": books[0].pk}],
        {"author": {"m": "bookstore.author", "pk": authors[0].pk}},
    ]
    with CaptureQueriesContext(connection) as queries:
        calls, failures = decode_calls(json.loads(json.dumps(encoded)))
    assert len(queries) == 2
    assert failures == []
    assert [c[0][0] for c in calls] == books
    assert [c[1]["author"] for c in calls] == [authors[i % 3] for i in range(5)]


@pytest.mark.django_db
def test_a_deleted_instance_fails_its_call_only(bookstore):
    keep, gone = Author.objects.all()[:2]
    encoded = [encode_call(((a,), {}), warmer="w") for a in (keep, gone)]
    gone_pk = gone.pk
    Book.objects.filter(author=gone).delete()
    gone.delete()
    calls, failures = decode_calls(encoded)
    assert calls == [((keep,), {})]
    assert failures == [
        (
            [{"m": "bookstore.author", "pk": gone_pk}],
            {},
            f"MissingInstance: Author with pk {gone_pk} no longer exists",
        )
    ]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (float("nan"), "nan (float)"),
        ({1: "a"}, "{1: 'a'} (dict)"),
        ({1, 2}, "{1, 2} (set)"),
        (b"x", "b'x' (bytes)"),
    ],
)
def test_non_json_values_raise_naming_warmer_and_value(value, shown):
    with pytest.raises(WarmingArgumentError) as info:
        encode_call(((1, value), {}), warmer="site.books")
    assert str(info.value).startswith(
        f"Warmer 'site.books' planned a value that cannot be sent as JSON: {shown} in call "
    )
    assert isinstance(info.value, TypeError)


def test_an_unsaved_instance_is_refused():
    with pytest.raises(WarmingArgumentError) as info:
        encode_call(((Author(name="Nobody"),), {}), warmer="w")
    assert str(info.value) == (
        "Warmer 'w' planned an unsaved Author instance (<Author: Nobody>) in call "
        "(<Author: Nobody>): only saved instances can be sent (they travel as their primary "
        "key). Save it first or pass plain values."
    )
