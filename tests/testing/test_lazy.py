from __future__ import annotations

import pytest
from django.db import models
from django.db.models.query import QuerySet

from demo_project.bookstore.models import Book
from demo_project.bookstore.services import book_list_naive, book_list_optimised
from perfkit.exceptions import PerfAssertionError
from perfkit.testing import no_lazy_loads
from perfkit.testing.lazy import native_fetch_modes

pytestmark = pytest.mark.django_db


def test_fallback_detects_the_naive_list_on_this_django(bookstore):
    assert native_fetch_modes() is False  # Django 5.2: no fetch modes yet
    block = no_lazy_loads()
    assert block.native is False
    with pytest.raises(PerfAssertionError) as info, block:
        book_list_naive(1, 3)
    assert str(info.value).startswith("Expected no N+1 queries but 4 groups were found")
    with no_lazy_loads():
        book_list_optimised(1, 3)


def test_fallback_as_decorator_with_allow(bookstore):
    @no_lazy_loads(allow=["bookstore_(author|publisher|tag|review)"])
    def page() -> int:
        return len(book_list_naive(1, 3))

    assert page() == 3


def test_native_mode_sets_raise_on_querysets_made_in_the_block(monkeypatch):
    # Django 6.1's API, stood in for on this Django: the block must give every QuerySet
    # created inside it the RAISE mode and restore QuerySet.__init__ afterwards.
    marker = object()
    monkeypatch.setattr(models, "RAISE", marker, raising=False)
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
