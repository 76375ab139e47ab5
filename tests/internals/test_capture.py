"""The Django internals of perfkit.internals.capture still have the shape perfkit relies on."""

from __future__ import annotations

import inspect

import django
import pytest
from django.db import connection, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.query import QuerySet

from perfkit.internals import MissingInternalError
from perfkit.internals import capture as internals_capture

NATIVE = internals_capture.native_fetch_modes()


def test_prepare_cursor_takes_the_cursor_and_every_cursor_passes_through_it(db):
    original = internals_capture._original_prepare_cursor or BaseDatabaseWrapper._prepare_cursor
    assert list(inspect.signature(original).parameters) == ["self", "cursor"]
    seen: list[BaseDatabaseWrapper] = []
    internals_capture.add_cursor_hook(seen.append)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        internals_capture.remove_cursor_hook(seen.append)
    assert seen == [connection]


@pytest.mark.skipif(not NATIVE, reason="Django < 6.1 has no fetch modes")
def test_queryset_keeps_its_fetch_mode_in_fetch_mode_attribute():
    queryset = QuerySet()
    assert "_fetch_mode" in vars(queryset)
    assert queryset.fetch_mode(models.FETCH_RAISE)._fetch_mode is models.FETCH_RAISE  # type: ignore[attr-defined]


@pytest.mark.skipif(NATIVE, reason="Django 6.1+ has fetch modes")
def test_raise_on_lazy_loads_names_the_missing_django_feature():
    with pytest.raises(MissingInternalError) as info:
        internals_capture.raise_on_lazy_loads()
    assert f"django {django.__version__}" in str(info.value)
    assert "no_lazy_loads()" in str(info.value)
