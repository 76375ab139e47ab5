"""The LazyObject internals perfkit.internals.lazy reads."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from perfkit.internals.lazy import lazy_value


def test_an_unevaluated_lazy_object_reads_as_none_and_stays_unevaluated():
    calls = []
    user = SimpleLazyObject(lambda: calls.append(1) or "alice")
    assert lazy_value(user) is None
    assert calls == []
    assert str(user) == "alice"
    assert lazy_value(user) == "alice"
