"""``PerfTestMixin``: perfkit's assertions as ``unittest`` / Django ``TestCase`` methods.

``assertNumQueries`` keeps Django's signature and counting (transaction statements count, the
``default`` database unless ``using=``), so it is a drop-in replacement with perfkit's message.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from django.db import DEFAULT_DB_ALIAS

from perfkit.testing import records
from perfkit.testing.assertions import (
    QueryAssertion,
    assert_max_queries,
    assert_no_duplicate_queries,
    assert_no_nplusone,
    assert_num_queries,
)
from perfkit.testing.budget import CacheOpsAssertion, assert_cache_ops
from perfkit.testing.records import PerfRecord

__all__ = ["PerfTestMixin"]


def _run(
    block: QueryAssertion, func: Callable[..., Any] | None, args: Any, kwargs: Any
) -> QueryAssertion | None:
    if func is None:
        return block
    with block:
        func(*args, **kwargs)
    return None


class PerfTestMixin:
    """Mix into a ``TestCase``: query, N+1, cache and record assertions with full messages."""

    def assertNumQueries(
        self,
        num: int,
        func: Callable[..., Any] | None = None,
        *args: Any,
        using: str = DEFAULT_DB_ALIAS,
        **kwargs: Any,
    ) -> Any:
        """Like Django's: exactly ``num`` queries on ``using`` (savepoints included)."""
        return _run(assert_num_queries(num, using, count_transactions=True), func, args, kwargs)

    def assertMaxQueries(
        self,
        num: int,
        func: Callable[..., Any] | None = None,
        *args: Any,
        using: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> QueryAssertion | None:
        """At most ``num`` queries (every database unless ``using``)."""
        return _run(assert_max_queries(num, using), func, args, kwargs)

    def assertNoDuplicateQueries(
        self,
        func: Callable[..., Any] | None = None,
        *args: Any,
        using: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> QueryAssertion | None:
        """No identical query (same SQL and params) twice."""
        return _run(assert_no_duplicate_queries(using), func, args, kwargs)

    def assertNoNPlusOne(
        self,
        func: Callable[..., Any] | None = None,
        *args: Any,
        threshold: int | None = None,
        allow: Sequence[str] = (),
        using: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> QueryAssertion | None:
        """No query shape repeated ``threshold``+ times from one place."""
        return _run(assert_no_nplusone(threshold, allow=allow, using=using), func, args, kwargs)

    def assertCacheOps(
        self,
        *,
        hits: int | None = None,
        misses: int | None = None,
        sets: int | None = None,
        deletes: int | None = None,
        aliases: str | Sequence[str] | None = None,
    ) -> CacheOpsAssertion:
        """Context manager: exact numbers of cache hits, misses, sets, deletes."""
        return assert_cache_ops(
            hits=hits, misses=misses, sets=sets, deletes=deletes, aliases=aliases
        )

    def assertPerfRecord(
        self,
        name: str | None = None,
        *,
        path: str | Path | None = None,
        mode: str | None = None,
        isolate_cache: bool = True,
    ) -> PerfRecord:
        """Context manager: compare with this test's record in ``<module>.perf.yml``.

        The block runs in a private, empty cache namespace unless ``isolate_cache=False``.
        """
        module = Path(inspect.getfile(type(self)))
        test_id: str = self.id()  # type: ignore[attr-defined]
        key = test_id.removeprefix(type(self).__module__ + ".")
        file = Path(path) if path is not None else records.record_path(module)
        if name:
            key = f"{key}#{name}"
        else:  # unittest makes one instance per test: the count lives on it
            counts = self.__dict__.setdefault("_perfkit_unnamed_records", {})
            key = records.number_unnamed(key, file, counts)
        chosen = records.resolve_mode(mode, "assertPerfRecord")
        return PerfRecord(key, file, chosen, isolate_cache=isolate_cache)
