from __future__ import annotations

import pytest

from demo_project.bookstore.models import Author
from perfkit.bench.capture import capture_run, group_as_dict


@pytest.mark.django_db
def test_duplicates_and_nplusone_groups(bookstore):
    ids = list(Author.objects.order_by("id").values_list("id", flat=True)[:3])

    def run() -> None:
        for author_id in ids:
            Author.objects.get(pk=author_id)
        Author.objects.get(pk=ids[0])  # an identical repeat

    queries, cache, events = capture_run(run)
    assert queries["count"] == 4
    assert queries["duplicates"] == 1
    (group,) = queries["duplicate_groups"]
    assert group["count"] == 2
    assert group["params"] == str((ids[0],))
    assert group["fingerprint"].startswith("SELECT bookstore_author.id")
    assert group["locations"] == [
        "tests/bench/test_capture.py:15 in run",
        "tests/bench/test_capture.py:16 in run",
    ]
    (nplusone,) = queries["nplusone"]
    assert nplusone["count"] == 3
    assert nplusone["locations"] == ["tests/bench/test_capture.py:15 in run"]
    assert "params" not in nplusone
    assert cache == {"hits": 0, "misses": 0, "sets": 0, "deletes": 0}
    assert events == {"hits": 0, "misses": 0, "stale": 0, "invalidations": 0, "errors": 0}


class _Group:
    """A group shaped like another implementation's: .sql, .location, count from queries."""

    sql = "SELECT 1"
    location = "x.py:1 in f"
    queries = ("a", "b")
    count = None


def test_group_as_dict_accepts_other_shapes():
    assert group_as_dict(_Group()) == {
        "fingerprint": "SELECT 1",
        "count": 2,
        "locations": ["x.py:1 in f"],
    }
