"""The pytest plugin, run in-process with ``pytester`` against this suite's test database.

The inner runs use ``-p no:django`` (Django is already set up by the outer run) and reach the
database through the outer test's ``db`` access; one subprocess run with pytest-django and a
throwaway settings module proves the entry point works on its own and under pytest-xdist.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]

NAIVE = """
import pytest
from demo_project.bookstore.services import book_list_naive as book_list

def test_list():
    assert len(book_list(1, 5)) == 5
"""
FIXED = NAIVE.replace("book_list_naive", "book_list_optimised")


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess(
        "-p", "no:django", "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestWarning", *args
    )


def test_fixtures_are_there_without_a_conftest(pytester):
    pytester.makepyfile(
        test_fx="""
        from demo_project.bookstore.models import Author

        def test_ok(perfkit_queries, assert_num_queries, assert_max_queries, perf_record):
            with assert_num_queries(1):
                Author.objects.count()
            with assert_max_queries(2):
                Author.objects.count()
            assert perfkit_queries.count() == 2

        def test_too_many(assert_num_queries):
            with assert_num_queries(0):
                Author.objects.count()
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*Expected to perform 0 queries but 1 was done (default: 1, other: 0).",
            "E*Queries:",
            "E*1. [[]default[]] */test_fx.py:12 in test_too_many",
            'E*SELECT COUNT(*) AS "__count" FROM "bookstore_author"',
        ]
    )


def test_nplusone_fail_then_fixed(pytester, bookstore):
    pytester.makepyfile(test_books=NAIVE)
    result = run(pytester, "--perfkit-nplusone=fail")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*N+1 queries in test_books.py::test_list (4 groups):",
            "*5x `SELECT ... FROM bookstore_author WHERE bookstore_author.id = ? LIMIT ?` "
            "[[]default[]] loading Book.author, from demo_project/bookstore/services.py:29 in "
            "_book_row <- demo_project/bookstore/services.py:42 in <listcomp> <- "
            "*/test_books.py:5 in test_list",
        ]
    )
    run(pytester).assert_outcomes(passed=1)  # off by default
    pytester.makepyfile(test_books=FIXED)
    run(pytester, "--perfkit-nplusone=fail").assert_outcomes(passed=1)


def test_nplusone_warn_marker_and_allow_setting(pytester, bookstore, settings):
    pytester.makepyfile(test_books=NAIVE)
    result = run(pytester, "--perfkit-nplusone=warn")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*PerfkitNPlusOneWarning: N+1 queries in test_books.py*"])
    allow_all = "@pytest.mark.perfkit_allow_nplusone\ndef test_list"
    pytester.makepyfile(test_books=NAIVE.replace("def test_list", allow_all))
    run(pytester, "--perfkit-nplusone=fail").assert_outcomes(passed=1)
    allow_some = "@pytest.mark.perfkit_allow_nplusone('_(author|publisher|tag)')\ndef test_list"
    pytester.makepyfile(test_books=NAIVE.replace("def test_list", allow_some))
    result = run(pytester, "--perfkit-nplusone=fail")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["E*N+1 queries in test_books.py::test_list (1 group):"])
    settings.PERFKIT = {"NPLUSONE_ALLOW": ["bookstore_review"]}
    run(pytester, "--perfkit-nplusone=fail").assert_outcomes(passed=1)


def test_report_and_json(pytester, bookstore):
    pytester.makepyfile(
        test_rep="""
        from django.core.cache import cache
        from demo_project.bookstore.models import Author

        def test_one():
            Author.objects.count()
            cache.get("missing")

        def test_three():
            for _ in range(3):
                Author.objects.count()

        def test_none():
            pass
        """
    )
    out = pytester.path / "perf.json"
    result = run(pytester, "--perfkit-report=2", "--perfkit-report-json", str(out))
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "*perfkit: top 2 tests by queries*",
            " queries  dupes  n+1  misses  test",
            "       3      2    1       0  test_rep.py::test_three",
            "       1      0    0       1  test_rep.py::test_one",
            f"perfkit: wrote 3 tests to {out}",
        ]
    )
    assert json.loads(out.read_text())["tests"] == [
        {
            "test": "test_rep.py::test_none",
            "queries": 0,
            "duplicates": 0,
            "nplusone": 0,
            "cache_misses": 0,
        },
        {
            "test": "test_rep.py::test_one",
            "queries": 1,
            "duplicates": 0,
            "nplusone": 0,
            "cache_misses": 1,
        },
        {
            "test": "test_rep.py::test_three",
            "queries": 3,
            "duplicates": 2,
            "nplusone": 1,
            "cache_misses": 0,
        },
    ]


def test_subprocess_with_pytest_django_and_xdist(pytester):
    """The entry point alone (no conftest), next to pytest-django's fixtures, under -n 2."""
    pytester.makepyfile(
        px_settings="""
        SECRET_KEY = "x"
        INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "perfkit",
                          "demo_project.bookstore"]
        DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
        USE_TZ = True
        DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
        """,
        test_sub="""
        import pytest
        from demo_project.bookstore.models import Author

        @pytest.mark.django_db
        @pytest.mark.parametrize("n", range(8))
        def test_record(n, perf_record, assert_num_queries, django_assert_num_queries):
            with django_assert_num_queries(1), assert_num_queries(1), perf_record():
                Author.objects.filter(pk=n).count()
        """,
    )
    env = {
        "DJANGO_SETTINGS_MODULE": "px_settings",
        "PYTHONPATH": os.pathsep.join([str(pytester.path), str(ROOT)]),
    }
    for name, value in env.items():
        pytester._monkeypatch.setenv(name, value)
    pytester._monkeypatch.delenv("DATABASE_URL", raising=False)
    report = pytester.path / "report.json"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-n", "2", f"--perfkit-report-json={report}"
    )
    result.assert_outcomes(passed=8)
    rows = json.loads(report.read_text())["tests"]  # figures travel from the workers
    assert [(r["test"], r["queries"]) for r in rows] == [
        (f"test_sub.py::test_record[{n}]", 1) for n in range(8)
    ]
    records = (pytester.path / "test_sub.perf.yml").read_text()
    assert sorted(line for line in records.splitlines() if line.startswith("test_record")) == [
        f"test_record[{n}]:" for n in range(8)
    ]


def test_allow_marker_takes_relations(pytester, bookstore):
    pytester.makepyfile(
        test_books=NAIVE.replace(
            "def test_list",
            '@pytest.mark.perfkit_allow_nplusone("bookstore.Book.*")\ndef test_list',
        )
    )
    run(pytester, "--perfkit-nplusone=fail").assert_outcomes(passed=1)
    pytester.makepyfile(
        test_books=NAIVE.replace(
            "def test_list",
            '@pytest.mark.perfkit_allow_nplusone("bookstore.Book.[at]*")\ndef test_list',
        )
    )
    result = run(pytester, "--perfkit-nplusone=fail")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["E*N+1 queries in test_books.py::test_list (2 groups):"])


def test_isolated_cache_fixture(pytester, redis_cache):
    pytester.makepyfile(
        test_iso="""
        from django.core.cache import caches

        def test_isolated(perfkit_isolated_cache):
            assert caches["redis"].get("shared") is None
            caches["redis"].set("mine", 1)
        """
    )
    redis_cache.set("shared", "from outside")
    run(pytester).assert_outcomes(passed=1)
    assert redis_cache.get("mine") is None
    assert redis_cache.get("shared") == "from outside"
