"""Query assertions, each a context manager *and* a decorator (sync or async functions).

``with assert_num_queries(2) as log:`` captures the block through ``capture_queries`` and, when
the block ends without an exception, checks the count; the failure message is built by
``perfkit.testing.messages``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connections

from perfkit.conf import perfkit_settings
from perfkit.exceptions import ImproperlyConfiguredError, PerfAssertionError
from perfkit.instrument.allow import compile_rules
from perfkit.instrument.checks import allow_patterns
from perfkit.instrument.queries import CapturedQuery, QueryGroup, QueryLog, capture_queries
from perfkit.testing.block import CaptureBlock
from perfkit.testing.messages import (
    duplicate_lines,
    nplusone_lines,
    per_alias,
    plural,
    query_listing,
    repeat_summary,
)

__all__ = [
    "QueryAssertion",
    "assert_max_queries",
    "assert_no_duplicate_queries",
    "assert_no_nplusone",
    "assert_num_queries",
]

Ignore = str | re.Pattern[str] | Callable[[CapturedQuery], bool]


def _searcher(pattern: re.Pattern[str]) -> Callable[[CapturedQuery], bool]:
    return lambda query: pattern.search(query.sql) is not None


def _ignore_rules(ignore: Iterable[Ignore], owner: str) -> list[Callable[[CapturedQuery], bool]]:
    if isinstance(ignore, str | re.Pattern) or callable(ignore):
        ignore = [ignore]
    rules: list[Callable[[CapturedQuery], bool]] = []
    for rule in ignore:
        if isinstance(rule, str):
            rule = re.compile(rule)
        if isinstance(rule, re.Pattern):
            rules.append(_searcher(rule))
        elif callable(rule):
            rules.append(rule)
        else:
            raise ImproperlyConfiguredError(
                f"{owner}(ignore=...) got {rule!r}; pass regexes (str or re.Pattern matched "
                "against the SQL) or callables taking a CapturedQuery and returning a bool."
            )
    return rules


class QueryAssertion(CaptureBlock):
    """Captures queries over a block (or a decorated call), then runs ``check``."""

    name = "assert_queries"

    def __init__(
        self,
        using: str | Sequence[str] | None = None,
        *,
        ignore: Iterable[Ignore] = (),
        info: str | None = None,
        count_transactions: bool = False,
    ) -> None:
        self.using = using
        self.ignore = _ignore_rules(ignore, self.name)
        self.info = info
        self.count_transactions = count_transactions
        self.log: QueryLog | None = None

    def capture(self) -> Any:
        return capture_queries(self.using)

    # --- checking --------------------------------------------------------------------------
    def counted(self, log: QueryLog) -> list[CapturedQuery]:
        """The queries that count: no transaction noise (unless asked), none ignored."""
        queries = log.counted(include_noise=self.count_transactions)
        if self.ignore:
            queries = [q for q in queries if not any(rule(q) for rule in self.ignore)]
        return queries

    def aliases(self) -> list[str]:
        if self.using is None:
            return list(connections.settings)
        return [self.using] if isinstance(self.using, str) else list(self.using)

    def verify(self, log: QueryLog) -> None:
        raise NotImplementedError

    def fail(
        self, headline: str, log: QueryLog, queries: list[CapturedQuery], *, summary: bool = True
    ) -> None:
        __tracebackhide__ = True
        lines = [headline]
        left_out = len(log) - len(queries)
        if left_out:
            lines.append(
                f"({plural(left_out, 'query', 'queries')} not counted: transaction statements"
                " or ignore=.)"
            )
        if self.info:
            lines.append(f"Info: {self.info}")
        lines += ["", *query_listing(queries)]
        if summary:
            lines += repeat_summary(log, queries)
        raise PerfAssertionError("\n".join(lines))


class _NumQueries(QueryAssertion):
    name = "assert_num_queries"
    exact = True

    def __init__(self, num: int, using: str | Sequence[str] | None, **options: Any) -> None:
        if not isinstance(num, int) or isinstance(num, bool) or num < 0:
            raise ImproperlyConfiguredError(
                f"{self.name}(num={num!r}): num must be an int >= 0, the number of queries."
            )
        super().__init__(using, **options)
        self.num = num

    def verify(self, log: QueryLog) -> None:
        __tracebackhide__ = True
        queries = self.counted(log)
        done = len(queries)
        if done == self.num if self.exact else done <= self.num:
            return
        expected = plural(self.num, "query", "queries")
        if not self.exact:
            expected = f"at most {expected}"
        were = "was" if done == 1 else "were"
        self.fail(
            f"Expected to perform {expected} but {done} {were} done"
            f" ({per_alias(queries, self.aliases())}).",
            log,
            queries,
        )


class _MaxQueries(_NumQueries):
    name = "assert_max_queries"
    exact = False


def assert_num_queries(
    num: int,
    using: str | Sequence[str] | None = None,
    *,
    ignore: Iterable[Ignore] = (),
    info: str | None = None,
    count_transactions: bool = False,
) -> QueryAssertion:
    """Fail unless exactly ``num`` queries run on ``using`` (one alias, a list, None = all)."""
    return _NumQueries(num, using, ignore=ignore, info=info, count_transactions=count_transactions)


def assert_max_queries(
    num: int,
    using: str | Sequence[str] | None = None,
    *,
    ignore: Iterable[Ignore] = (),
    info: str | None = None,
    count_transactions: bool = False,
) -> QueryAssertion:
    """Fail when more than ``num`` queries run on ``using``."""
    return _MaxQueries(num, using, ignore=ignore, info=info, count_transactions=count_transactions)


class _NoDuplicates(QueryAssertion):
    name = "assert_no_duplicate_queries"

    def verify(self, log: QueryLog) -> None:
        __tracebackhide__ = True
        scoped = QueryLog(log.using, threads=False, locations=log.locations)
        scoped.queries = self.counted(log)
        groups = scoped.duplicates()
        if groups:
            found = plural(len(groups), "group")
            self.fail(
                f"Expected no duplicate queries but {found} of identical queries "
                f"{'was' if len(groups) == 1 else 'were'} found:\n"
                + "\n".join(duplicate_lines(groups)),
                log,
                scoped.queries,
                summary=False,
            )


def assert_no_duplicate_queries(
    using: str | Sequence[str] | None = None,
    *,
    ignore: Iterable[Ignore] = (),
    info: str | None = None,
) -> QueryAssertion:
    """Fail when the same SQL with the same params runs twice on one database."""
    return _NoDuplicates(using, ignore=ignore, info=info)


class _NoNPlusOne(QueryAssertion):
    name = "assert_no_nplusone"

    def __init__(
        self, threshold: int | None, allow: Iterable[str | re.Pattern[str]], **options: Any
    ) -> None:
        super().__init__(**options)
        self.threshold = threshold
        self.allow = compile_rules(allow)

    def allowed(self, group: QueryGroup) -> bool:
        return any(rule.matches(group) for rule in [*self.allow, *allow_patterns()])

    def verify(self, log: QueryLog) -> None:
        __tracebackhide__ = True
        scoped = QueryLog(log.using, threads=False, locations=log.locations)
        scoped.queries = self.counted(log)
        threshold = self.threshold or perfkit_settings.NPLUSONE_THRESHOLD
        groups = [g for g in scoped.nplusone(threshold) if not self.allowed(g)]
        if groups:
            were = "was" if len(groups) == 1 else "were"
            self.fail(
                f"Expected no N+1 queries but {plural(len(groups), 'group')} {were} found"
                f" (one query shape run {threshold}+ times from one place):\n"
                + "\n".join(nplusone_lines(groups)),
                log,
                scoped.queries,
                summary=False,
            )


def assert_no_nplusone(
    threshold: int | None = None,
    *,
    allow: Iterable[str | re.Pattern[str]] = (),
    using: str | Sequence[str] | None = None,
    ignore: Iterable[Ignore] = (),
    info: str | None = None,
) -> QueryAssertion:
    """Fail when one query shape runs ``threshold``+ times from the same line (an N+1).

    ``threshold`` defaults to ``PERFKIT["NPLUSONE_THRESHOLD"]`` (2).  ``allow`` (plus
    ``PERFKIT["NPLUSONE_ALLOW"]``) excuses groups: relations (``"shop.Author.books"``, fnmatch
    wildcards ``"shop.A*"``) or regexes searched in a group's fingerprint and locations.
    """
    if threshold is not None and (not isinstance(threshold, int) or threshold < 2):
        raise ImproperlyConfiguredError(
            f"assert_no_nplusone(threshold={threshold!r}): threshold must be an int >= 2 "
            "(how many repeats of one query shape from one place make an N+1)."
        )
    return _NoNPlusOne(threshold, allow, using=using, ignore=ignore, info=info)
