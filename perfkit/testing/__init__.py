"""Query-count, N+1 and cache-operation assertions, performance records.

Importing this package needs configured Django settings; the pytest plugin
(``perfkit.testing.pytest_plugin``) imports it only once Django is set up.
"""

from __future__ import annotations

from perfkit.instrument.cachelog import CacheLog, CacheOp, capture_cache
from perfkit.instrument.queries import CapturedQuery, QueryGroup, QueryLog, capture_queries
from perfkit.testing.assertions import (
    QueryAssertion,
    assert_max_queries,
    assert_no_duplicate_queries,
    assert_no_nplusone,
    assert_num_queries,
)
from perfkit.testing.budget import (
    CacheOpsAssertion,
    PerfBudget,
    assert_cache_ops,
    perf_budget,
)
from perfkit.testing.isolation import isolated_cache
from perfkit.testing.lazy import NoLazyLoads, no_lazy_loads
from perfkit.testing.records import PerfRecord, perf_record
from perfkit.testing.unittest import PerfTestMixin

__all__ = [
    "CacheLog",
    "CacheOp",
    "CacheOpsAssertion",
    "CapturedQuery",
    "NoLazyLoads",
    "PerfBudget",
    "PerfRecord",
    "PerfTestMixin",
    "QueryAssertion",
    "QueryGroup",
    "QueryLog",
    "assert_cache_ops",
    "assert_max_queries",
    "assert_no_duplicate_queries",
    "assert_no_nplusone",
    "assert_num_queries",
    "capture_cache",
    "capture_queries",
    "isolated_cache",
    "no_lazy_loads",
    "perf_budget",
    "perf_record",
]
