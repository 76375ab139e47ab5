# ruff: noqa: PT009, PT027  (unittest-style on purpose: this tests the unittest mixin)
from __future__ import annotations

from pathlib import Path

from django.core.cache import caches
from django.db import transaction
from django.test import TestCase

from demo_project.bookstore.models import Author
from perfkit.exceptions import PerfAssertionError
from perfkit.testing import PerfTestMixin
from tests.testing.helpers import here


class MixinTests(PerfTestMixin, TestCase):
    databases = {"default", "other"}

    def test_assert_num_queries_is_drop_in(self):
        # Django's forms: context manager, callable with args, using=, savepoints counted
        with self.assertNumQueries(1):
            Author.objects.count()
        self.assertNumQueries(4, Author.objects.get_or_create, name="Z")  # as Django counts
        self.assertNumQueries(1, lambda: Author.objects.using("other").count(), using="other")
        with self.assertNumQueries(3), transaction.atomic():
            Author.objects.create(name="A")
        with self.assertRaises(AssertionError) as info, self.assertNumQueries(0):
            Author.objects.count()
            line = here(-1)
        self.assertEqual(
            str(info.exception),
            "Expected to perform 0 queries but 1 was done (default: 1).\n\n"
            "Queries:\n"
            f"  1. [default] {line}\n"
            '     SELECT COUNT(*) AS "__count" FROM "bookstore_author"',
        )

    def test_max_duplicates_nplusone(self):
        with self.assertMaxQueries(2):
            Author.objects.count()
            Author.objects.using("other").count()
        self.assertMaxQueries(1, Author.objects.count)
        with self.assertRaises(PerfAssertionError), self.assertNoDuplicateQueries():
            Author.objects.count()
            Author.objects.count()
        with self.assertRaises(PerfAssertionError), self.assertNoNPlusOne():
            for pk in (1, 2):
                Author.objects.filter(pk=pk).count()
        with self.assertNoNPlusOne(threshold=3):
            for pk in (1, 2):
                Author.objects.filter(pk=pk).count()

    def test_cache_ops(self):
        with self.assertCacheOps(misses=1, sets=1):
            caches["default"].get("k")
            caches["default"].set("k", 1)

    def test_perf_record(self):
        path = Path(__file__).with_name("test_unittest.perf.yml")
        try:
            with self.assertPerfRecord(mode="once"):
                Author.objects.count()
            self.assertIn("MixinTests.test_perf_record:", path.read_text())
            with self.assertRaises(PerfAssertionError), self.assertPerfRecord("x", mode="none"):
                Author.objects.count()
        finally:
            path.unlink(missing_ok=True)

    def test_unnamed_records_are_numbered(self):
        path = Path(__file__).with_name("test_unittest.perf.yml")
        try:
            with self.assertPerfRecord(mode="once"):
                Author.objects.count()
            with self.assertPerfRecord(mode="once"):  # its own record, not the first one's
                Author.objects.count()
                Author.objects.count()
            text = path.read_text()
            self.assertIn("MixinTests.test_unnamed_records_are_numbered:", text)
            self.assertIn("MixinTests.test_unnamed_records_are_numbered.2:", text)
        finally:
            path.unlink(missing_ok=True)
