"""perf_record modes, the diff text and stale entries, through in-process pytester runs."""

from __future__ import annotations

import textwrap

import pytest

from perfkit.exceptions import ImproperlyConfiguredError
from perfkit.testing import perf_record
from perfkit.testing.recordfile import key_shape
from tests.testing.test_pytest_plugin import run

pytestmark = pytest.mark.django_db

TEST = """
from django.core.cache import cache
from demo_project.bookstore.models import Author

def test_page(perf_record):
    cache.clear()
    with perf_record():
        for pk in range(AUTHORS):
            Author.objects.filter(pk=pk).count()
        cache.get(f"author:{17}:v2")
        cache.set("author:17:v2", 1)
"""

RECORD = """\
test_page:
  cache:
  - cache: default
    count: 1
    key: author:#:v#
    misses: 1
    op: get
  - cache: default
    count: 1
    key: author:#:v#
    op: set
  queries:
  - count: AUTHORS
    db: default
    sql: SELECT COUNT(*) AS __count FROM bookstore_author WHERE bookstore_author.id = ?
"""


def write_test(pytester: pytest.Pytester, authors: int, name: str = "test_rec") -> None:
    pytester.makepyfile(**{name: TEST.replace("AUTHORS", str(authors))})


def record(pytester: pytest.Pytester, name: str = "test_rec") -> str:
    return (pytester.path / f"{name}.perf.yml").read_text()


def test_once_writes_then_compares_with_a_readable_diff(pytester):
    write_test(pytester, 2)
    run(pytester).assert_outcomes(passed=1)
    assert record(pytester) == RECORD.replace("AUTHORS", "2")
    run(pytester).assert_outcomes(passed=1)
    write_test(pytester, 5)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*Performance record 'test_page' (*test_rec.perf.yml): the code now performs "
            "differently from recorded:",
            "E*  +3x `SELECT ... FROM bookstore_author WHERE bookstore_author.id = ?` "
            "[[]default[]] from */test_rec.py:8 in test_page (now 5, recorded 2)",
            "E*If this is intended, re-record with --perfkit-record-mode=overwrite *",
        ]
    )
    assert record(pytester) == RECORD.replace("AUTHORS", "2")  # unchanged on failure


def test_none_never_writes(pytester):
    write_test(pytester, 1)
    result = run(pytester, "--perfkit-record-mode=none")
    result.assert_outcomes(failed=1)
    missing = "E*No performance record 'test_page' in *test_rec.perf.yml and the record mode"
    result.stdout.fnmatch_lines([f"{missing} is 'none'; run once with *"])
    assert not (pytester.path / "test_rec.perf.yml").exists()


def test_all_writes_a_missing_record_and_fails_as_perf_rec_does(pytester):
    write_test(pytester, 1)
    result = run(pytester, "--perfkit-record-mode=all")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*No performance record 'test_page' in *test_rec.perf.yml: it was written now, and "
            "the record mode 'all' fails on a missing record. Commit the file; the next run "
            "compares with it."
        ]
    )
    assert record(pytester) == RECORD.replace("AUTHORS", "1")
    run(pytester, "--perfkit-record-mode=all").assert_outcomes(passed=1)  # now it exists
    write_test(pytester, 3)
    result = run(pytester, "--perfkit-record-mode=all")  # an existing record is compared
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["E*+2x `SELECT ... FROM bookstore_author *(now 3, recorded 1)"])
    assert record(pytester) == RECORD.replace("AUTHORS", "1")


def test_overwrite_rewrites_without_failing(pytester, settings):
    write_test(pytester, 1)
    run(pytester).assert_outcomes(passed=1)
    write_test(pytester, 3)
    run(pytester, "--perfkit-record-mode=overwrite").assert_outcomes(passed=1)
    assert record(pytester) == RECORD.replace("AUTHORS", "3")
    write_test(pytester, 4)
    settings.PERFKIT = {"RECORD_MODE": "overwrite"}  # the setting, when no option is given
    run(pytester).assert_outcomes(passed=1)
    assert record(pytester) == RECORD.replace("AUTHORS", "4")


def test_ratchet_fails_on_more_and_tightens_on_less(pytester):
    write_test(pytester, 3)
    run(pytester).assert_outcomes(passed=1)
    write_test(pytester, 1)
    run(pytester, "--perfkit-record-mode=ratchet").assert_outcomes(passed=1)
    assert record(pytester) == RECORD.replace("AUTHORS", "1")
    write_test(pytester, 2)
    result = run(pytester, "--perfkit-record-mode=ratchet")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*the code now performs more than recorded:",
            "E*+1x `SELECT ... FROM bookstore_author WHERE bookstore_author.id = ?` *(now 2, "
            "recorded 1)",
        ]
    )
    assert record(pytester) == RECORD.replace("AUTHORS", "1")


def test_cache_misses_count_in_the_diff(pytester):
    write_test(pytester, 1)
    run(pytester).assert_outcomes(passed=1)
    pytester.makepyfile(
        test_rec=TEST.replace("AUTHORS", "1").replace('cache.set("author:17:v2", 1)', "")
    )
    result = run(pytester, "--perfkit-record-mode=ratchet")
    result.assert_outcomes(passed=1)  # one set fewer: tightened
    assert "op: set" not in record(pytester)


def test_stale_entries_reported_then_pruned_with_overwrite(pytester):
    write_test(pytester, 1)
    pytester.makepyfile(
        test_rec=TEST.replace("AUTHORS", "1")
        + "\n\ndef test_other(perf_record):\n    with perf_record('second'):\n        pass\n"
    )
    run(pytester).assert_outcomes(passed=2)
    assert "test_other#second:" in record(pytester)
    write_test(pytester, 1)  # test_other deleted
    result = run(pytester)
    result.stdout.fnmatch_lines(
        [
            "*perfkit: performance records of tests that no longer exist*",
            "stale test_rec.perf.yml: test_other#second",
            "(prune them with --perfkit-record-mode=overwrite)",
        ]
    )
    run(pytester, "test_rec.py::test_page").stdout.no_fnmatch_line("stale*")  # partial run
    result = run(pytester, "--perfkit-record-mode=overwrite")
    result.stdout.fnmatch_lines(["pruned test_rec.perf.yml: test_other#second"])
    assert record(pytester) == RECORD.replace("AUTHORS", "1")


TWO_BLOCKS = """
from demo_project.bookstore.models import Author

def test_two(perf_record):
    with perf_record():
        Author.objects.count()
    with perf_record():
        Author.objects.count()
        Author.objects.count()
    with perf_record():
        pass
"""


def test_unnamed_blocks_of_one_test_are_numbered(pytester):
    pytester.makepyfile(test_two=TWO_BLOCKS)
    run(pytester).assert_outcomes(passed=1)
    text = record(pytester, "test_two")
    assert "test_two:\n  queries:\n  - count: 1\n" in text
    assert "test_two.2:\n  queries:\n  - count: 2\n" in text
    assert "test_two.3: {}\n" in text
    run(pytester).assert_outcomes(passed=1)  # each block compared with its own record
    result = run(pytester, "--perfkit-record-mode=overwrite")  # numbered keys are not stale
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("pruned*")
    assert record(pytester, "test_two") == text


def test_parametrised_tests_get_their_own_records(pytester):
    pytester.makepyfile(
        test_par=textwrap.dedent(
            """
            import pytest
            from demo_project.bookstore.models import Author

            @pytest.mark.parametrize("n", [1, 2])
            def test_n(n, perf_record):
                with perf_record():
                    for pk in range(n):
                        Author.objects.filter(pk=pk).exists()
            """
        )
    )
    run(pytester).assert_outcomes(passed=2)
    text = record(pytester, "test_par")
    assert "test_n[1]:" in text
    assert "test_n[2]:" in text
    assert "count: 2" in text


def test_missing_pyyaml_names_the_small_extra(monkeypatch, tmp_path):
    import sys
    import tomllib

    from perfkit.exceptions import MissingExtraError
    from perfkit.testing import recordfile
    from tests.test_packaging import ROOT

    monkeypatch.setitem(sys.modules, "yaml", None)  # as if PyYAML were not installed
    with pytest.raises(MissingExtraError) as info:
        recordfile.load(tmp_path / "test_x.perf.yml")
    assert str(info.value) == (
        "perfkit.testing.perf_record needs the 'yaml' package, which is not installed. "
        'Install it with: pip install "django-perfkit[records]"'
    )
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert extras["records"] == ["PyYAML>=6"]  # PyYAML only, not pytest, xdist, factory-boy


def test_bad_mode_and_key_shapes():
    with pytest.raises(ImproperlyConfiguredError) as info:
        perf_record(mode="sometimes")
    assert str(info.value) == (
        "perf_record(mode='sometimes'): unknown record mode; choose one of once, none, all, "
        "overwrite, ratchet (argument, --perfkit-record-mode or PERFKIT['RECORD_MODE'])."
    )
    assert key_shape("book:42:v3") == "book:#:v#"
    assert key_shape("pk:f:0123456789abcdef0123") == "pk:f:#"
    assert key_shape("u:123e4567-e89b-12d3-a456-426614174000") == "u:#"
