from __future__ import annotations

import pytest
from django.db import models
from django.db.models.query import QuerySet

from demo_project.bookstore.models import Book
from demo_project.bookstore.services import book_detail, book_list_naive, book_list_optimised
from perfkit.exceptions import PerfAssertionError
from perfkit.testing import no_lazy_loads
from perfkit.testing.lazy import native_fetch_modes

pytestmark = pytest.mark.django_db

NATIVE = native_fetch_modes()
needs_native = pytest.mark.skipif(not NATIVE, reason="Django < 6.1 has no fetch modes")
needs_fallback = pytest.mark.skipif(NATIVE, reason="Django 6.1+ uses its FETCH_RAISE mode")


def test_native_detection_follows_the_django_version():
    import django

    assert NATIVE is (django.VERSION >= (6, 1))


@needs_fallback
def test_fallback_detects_the_naive_list(bookstore):
    block = no_lazy_loads()
    assert block.native is False
    with pytest.raises(PerfAssertionError) as info, block:
        book_list_naive(1, 3)
    assert str(info.value).startswith("Expected no N+1 queries but 4 groups were found")
    with no_lazy_loads():
        book_list_optimised(1, 3)


@needs_fallback
def test_fallback_as_decorator_with_allow(bookstore):
    @no_lazy_loads(allow=["bookstore_(author|publisher|tag|review)"])
    def page() -> int:
        return len(book_list_naive(1, 3))

    assert page() == 3


@needs_native
def test_native_mode_raises_djangos_error_on_a_lazy_load(bookstore):
    from django.core.exceptions import FieldFetchBlocked

    block = no_lazy_loads()
    assert block.native is True
    with pytest.raises(FieldFetchBlocked, match=r"^Fetching of Book\.author blocked\.$"), block:
        book_list_naive(1, 3)
    with no_lazy_loads():  # select_related/prefetch_related: nothing is fetched lazily
        assert len(book_list_optimised(1, 3)) == 3
        book_detail(Book.objects.order_by("id").first().pk)
    # outside the block lazy loads work again
    assert Book.objects.order_by("id").first().author.name


@needs_fallback
def test_native_mode_sets_raise_on_querysets_made_in_the_block(monkeypatch):
    # Django 6.1's API, stood in for on older Django: the block must give every QuerySet
    # created inside it the FETCH_RAISE mode and restore QuerySet.__init__ afterwards.
    marker = object()
    monkeypatch.setattr(models, "FETCH_RAISE", marker, raising=False)
    monkeypatch.setattr(QuerySet, "fetch_mode", lambda self, mode: self, raising=False)
    original = QuerySet.__init__
    block = no_lazy_loads()
    assert block.native is True
    with block:
        inside = Book.objects.all()
    outside = Book.objects.all()
    assert inside._fetch_mode is marker
    assert getattr(outside, "_fetch_mode", None) is not marker
    assert QuerySet.__init__ is original
