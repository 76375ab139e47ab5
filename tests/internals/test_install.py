"""perfkit.internals.install()/uninstall(): idempotent, and every original comes back exactly."""

from __future__ import annotations

import pytest
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.query import QuerySet

from perfkit import internals
from perfkit.internals import capture as internals_capture


def _is_djangos(function: object, qualname: str) -> bool:
    return getattr(function, "__module__", "").startswith("django.") and (
        getattr(function, "__qualname__", None) == qualname
    )


def test_ready_installed_the_patches():
    assert internals.installed()
    assert internals_capture.installed()
    assert not _is_djangos(
        BaseDatabaseWrapper._prepare_cursor, "BaseDatabaseWrapper._prepare_cursor"
    )


def test_uninstall_restores_the_originals_exactly_and_install_again_works():
    patched = BaseDatabaseWrapper._prepare_cursor
    original = internals_capture._original_prepare_cursor
    queryset_init = QuerySet.__init__
    try:
        internals.uninstall()
        internals.uninstall()  # idempotent
        assert not internals.installed()
        assert BaseDatabaseWrapper._prepare_cursor is original
        assert _is_djangos(original, "BaseDatabaseWrapper._prepare_cursor")
        assert QuerySet.__init__ is queryset_init
    finally:
        internals.install()
        internals.install()  # idempotent
    assert internals.installed()
    assert BaseDatabaseWrapper._prepare_cursor is not original
    assert BaseDatabaseWrapper._prepare_cursor is not patched  # a fresh wrapper of the original
    assert internals_capture._original_prepare_cursor is original


@pytest.mark.skipif(
    not internals_capture.native_fetch_modes(), reason="Django < 6.1 has no fetch modes"
)
def test_uninstall_inside_an_open_no_lazy_loads_block_puts_queryset_init_back():
    queryset_init = QuerySet.__init__
    internals_capture.raise_on_lazy_loads()
    internals_capture.raise_on_lazy_loads()  # nested
    assert QuerySet.__init__ is not queryset_init
    try:
        internals.uninstall()
    finally:
        internals.install()
    assert QuerySet.__init__ is queryset_init
