from __future__ import annotations

import pytest
from django.core.cache import caches

from demo_project.bookstore.models import Author
from perfkit.exceptions import ImproperlyConfiguredError, PerfAssertionError
from perfkit.testing import perf_budget
from tests.testing.helpers import here

pytestmark = pytest.mark.django_db(databases=["default", "other"])

COUNT = 'SELECT COUNT(*) AS "__count" FROM "bookstore_author" WHERE "bookstore_author"."id" = %s'
SHORT = "SELECT ... FROM bookstore_author WHERE bookstore_author.id = ?"


def test_within_budget_passes_and_exposes_both_logs():
    with perf_budget(queries=2, duplicates=0, nplusone=0, cache_misses=1) as budget:
        Author.objects.count()
        caches["default"].get("k")
    assert len(budget.queries) == 1
    assert budget.cache.misses == 1


def test_every_breach_is_reported_together():
    with (  # noqa: PT012
        pytest.raises(PerfAssertionError) as info,
        perf_budget(queries=1, duplicates=0, nplusone=0, cache_misses=0),
    ):
        for _ in range(2):
            Author.objects.filter(pk=1).count()
            line = here(-1)
        caches["default"].get("k")
        miss = here(-1)
    assert str(info.value) == (
        "Performance budget exceeded (4 breaches):\n"
        "  - queries: 2 > 1 (default: 2, other: 0)\n"
        "  - duplicates: 1 group > 0\n"
        "  - nplusone: 1 group > 0\n"
        "  - cache_misses: 1 > 0\n"
        "\n"
        "Queries:\n"
        f"  1. [default] {line}\n"
        f"     {COUNT}\n"
        f"  2. [default] {line}\n"
        f"     {COUNT}\n"
        "\n"
        "Duplicates:\n"
        f"  2x identical [default], from {line}: `{SHORT}`\n"
        "\n"
        "N+1 (same query shape repeated from one place):\n"
        f"  2x `{SHORT}` [default] from {line}\n"
        "\n"
        "Cache operations:\n"
        f"  1. [default] get 'k' miss  {miss}"
    )


def test_one_breach_and_decorator():
    @perf_budget(queries=0, using="other")
    def view() -> None:
        Author.objects.count()  # default: out of scope
        Author.objects.using("other").count()

    with pytest.raises(PerfAssertionError) as info:
        view()
    assert str(info.value).splitlines()[:2] == [
        "Performance budget exceeded (1 breach):",
        "  - queries: 1 > 0 (other: 1)",
    ]


def test_budget_without_limits_is_an_error():
    with pytest.raises(ImproperlyConfiguredError) as info:
        perf_budget()
    assert str(info.value) == (
        "perf_budget() checks nothing: pass at least one of queries=, duplicates=, nplusone=, "
        "cache_misses=."
    )
    with pytest.raises(ImproperlyConfiguredError) as info:
        perf_budget(queries=-1)
    assert str(info.value) == "perf_budget(queries=-1): expected an int >= 0 or None (no limit)."
