from __future__ import annotations

import asyncio

import pytest
from django.db import connections, transaction

from demo_project.bookstore.models import Author
from demo_project.bookstore.services import book_list_naive, book_list_optimised
from perfkit.exceptions import ImproperlyConfiguredError, PerfAssertionError
from perfkit.testing import (
    assert_max_queries,
    assert_no_duplicate_queries,
    assert_no_nplusone,
    assert_num_queries,
)
from tests.testing.helpers import here

pytestmark = pytest.mark.django_db(databases=["default", "other"])

COUNT = 'SELECT COUNT(*) AS "__count" FROM "bookstore_author" WHERE "bookstore_author"."id" = %s'
SHAPE = "SELECT COUNT(*) AS __count FROM bookstore_author WHERE bookstore_author.id = ?"
SHORT = "SELECT ... FROM bookstore_author WHERE bookstore_author.id = ?"
ALL = 'SELECT COUNT(*) AS "__count" FROM "bookstore_author"'


def test_passes_on_the_right_count():
    with assert_num_queries(2) as log:
        Author.objects.count()
        Author.objects.using("other").count()
    assert len(log) == 2
    with assert_max_queries(3):
        Author.objects.count()


def test_failure_message_lists_counts_queries_and_locations():
    with pytest.raises(PerfAssertionError) as info, assert_num_queries(1):  # noqa: PT012
        Author.objects.filter(pk=1).count()
        first = here(-1)
        Author.objects.using("other").count()
        second = here(-1)
    assert str(info.value) == (
        "Expected to perform 1 query but 2 were done (default: 1, other: 1).\n"
        "\n"
        "Queries:\n"
        f"  1. [default] {first}\n"
        f"     {COUNT}\n"
        f"  2. [other] {second}\n"
        f"     {ALL}"
    )


def test_max_message_and_info_and_one_database():
    with (  # noqa: PT012
        pytest.raises(PerfAssertionError) as info,
        assert_max_queries(0, using="other", info="the author page"),
    ):
        Author.objects.count()  # default: not in scope
        Author.objects.using("other").count()
        line = here(-1)
    assert str(info.value) == (
        "Expected to perform at most 0 queries but 1 was done (other: 1).\n"
        "Info: the author page\n"
        "\n"
        "Queries:\n"
        f"  1. [other] {line}\n"
        f"     {ALL}"
    )


def test_duplicates_and_nplusone_are_summarised():
    with pytest.raises(PerfAssertionError) as info, assert_num_queries(0):  # noqa: PT012
        for pk in (1, 2, 3):
            Author.objects.filter(pk=pk).count()
            loop = here(-1)
        Author.objects.filter(pk=1).count()
        again = here(-1)
    message = str(info.value)
    assert message.startswith(
        "Expected to perform 0 queries but 4 were done (default: 4, other: 0).\n"
    )
    assert message.endswith(
        "\n\nDuplicates:\n"
        f"  2x identical [default], from {loop} and {again}: `{SHORT}`\n"
        "\n"
        "N+1 (same query shape repeated from one place):\n"
        f"  3x `{SHORT}` [default] from {loop}"
    )
    assert message.count(f"[default] {loop}\n") == 3


def test_transaction_noise_ignored_by_default_counted_on_request():
    with assert_num_queries(1), transaction.atomic():
        Author.objects.create(name="A")
    with assert_num_queries(3, count_transactions=True), transaction.atomic():
        Author.objects.create(name="B")
    with pytest.raises(PerfAssertionError) as info, assert_num_queries(0), transaction.atomic():
        Author.objects.create(name="C")
    assert str(info.value).splitlines()[:2] == [
        "Expected to perform 0 queries but 1 was done (default: 1, other: 0).",
        "(2 queries not counted: transaction statements or ignore=.)",
    ]


def test_ignore_takes_regexes_and_callables():
    with assert_num_queries(1, ignore=[r"COUNT\(\*\)"]):
        Author.objects.count()
        Author.objects.exists()
    with assert_num_queries(0, ignore=[lambda q: q.alias == "other", "COUNT"]):
        Author.objects.count()
        Author.objects.using("other").exists()
    with pytest.raises(ImproperlyConfiguredError) as info:
        assert_num_queries(0, ignore=[42])
    assert str(info.value) == (
        "assert_num_queries(ignore=...) got 42; pass regexes (str or re.Pattern matched "
        "against the SQL) or callables taking a CapturedQuery and returning a bool."
    )


def test_bad_num_is_a_clear_error():
    with pytest.raises(ImproperlyConfiguredError) as info:
        assert_num_queries(-1)
    assert str(info.value) == (
        "assert_num_queries(num=-1): num must be an int >= 0, the number of queries."
    )


def test_decorator_sync_and_async():
    @assert_num_queries(1)
    def one() -> int:
        return Author.objects.count()

    @assert_num_queries(0)
    def wrong() -> int:
        return Author.objects.count()

    one()
    one()  # a fresh capture per call
    with pytest.raises(PerfAssertionError):
        wrong()

    @assert_max_queries(1)
    async def async_one() -> int:
        count = await Author.objects.acount()
        from asgiref.sync import sync_to_async

        await sync_to_async(connections.close_all)()
        return count

    assert asyncio.run(async_one()) == 0


def test_block_exception_propagates_without_checking():
    with pytest.raises(ZeroDivisionError), assert_num_queries(0):  # noqa: PT012
        Author.objects.count()
        1 / 0  # noqa: B018


def test_no_duplicate_queries():
    with assert_no_duplicate_queries():
        Author.objects.filter(pk=1).count()
        Author.objects.filter(pk=2).count()
    with pytest.raises(PerfAssertionError) as info, assert_no_duplicate_queries():  # noqa: PT012
        for _ in range(2):
            Author.objects.filter(pk=1).count()
            line = here(-1)
    assert str(info.value) == (
        "Expected no duplicate queries but 1 group of identical queries was found:\n"
        f"  2x identical [default], from {line}: `{SHORT}`\n"
        "\n"
        "Queries:\n"
        f"  1. [default] {line}\n"
        f"     {COUNT}\n"
        f"  2. [default] {line}\n"
        f"     {COUNT}"
    )


def test_duplicates_differing_only_in_parameters_are_one_line():
    with pytest.raises(PerfAssertionError) as info, assert_no_duplicate_queries():  # noqa: PT012
        for pk in (1, 1, 2, 2, 3, 3, 3):
            Author.objects.filter(pk=pk).count()
            line = here(-1)
    assert str(info.value).splitlines()[:2] == [
        "Expected no duplicate queries but 3 groups of identical queries were found:",
        f"  2-3x identical [default] for each of 3 parameter sets, from {line}: `{SHORT}`",
    ]
    with pytest.raises(PerfAssertionError) as info, assert_no_duplicate_queries():  # noqa: PT012
        for pk in (1, 1, 2, 2):
            Author.objects.filter(pk=pk).count()
            line = here(-1)
    assert str(info.value).splitlines()[1:3] == [
        f"  2x identical [default] for each of 2 parameter sets, from {line}: `{SHORT}`",
        "",
    ]


def test_no_nplusone_threshold_and_allow(settings):
    with assert_no_nplusone(threshold=3):
        for pk in (1, 2):
            Author.objects.filter(pk=pk).count()
    with pytest.raises(PerfAssertionError) as info, assert_no_nplusone():  # noqa: PT012
        for pk in (1, 2):
            Author.objects.filter(pk=pk).count()
            line = here(-1)
    assert str(info.value).splitlines()[:2] == [
        "Expected no N+1 queries but 1 group was found (one query shape run 2+ times from one "
        "place):",
        f"  2x `{SHORT}` [default] from {line}",
    ]
    with assert_no_nplusone(allow=[r"FROM bookstore_author"]):
        for pk in (1, 2):
            Author.objects.filter(pk=pk).count()
    with assert_no_nplusone(allow=[r"test_assertions\.py"]):
        for pk in (1, 2):
            Author.objects.filter(pk=pk).count()
    settings.PERFKIT = {"NPLUSONE_ALLOW": ["bookstore_author"]}
    with assert_no_nplusone():
        for pk in (1, 2):
            Author.objects.filter(pk=pk).count()
    with pytest.raises(ImproperlyConfiguredError):
        assert_no_nplusone(threshold=1)


def test_demo_naive_book_list_is_caught_and_optimised_passes(bookstore):
    with pytest.raises(PerfAssertionError) as info, assert_no_nplusone():  # noqa: PT012
        book_list_naive(1, 10)
        line = here(-1)
    message = str(info.value)
    assert message.startswith("Expected no N+1 queries but 4 groups were found")
    # the relation it loads, the helper's line, and the callers down to this test's own line
    assert (
        "  10x `SELECT ... FROM bookstore_author WHERE bookstore_author.id = ? LIMIT ?` "
        "[default] loading Book.author, from demo_project/bookstore/services.py:29 in _book_row"
        " <- demo_project/bookstore/services.py:42 in <listcomp> <- "
        f"{line}"
    ) in message
    assert "loading Book.tags, from demo_project/bookstore/services.py:42 in <listcomp> <- " in (
        message
    )
    with assert_no_nplusone(), assert_max_queries(3):
        rows = book_list_optimised(1, 10)
    assert len(rows) == 10
