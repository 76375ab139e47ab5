"""Capture every SQL query run inside a block: ``capture_queries()`` -> ``QueryLog``.

One dispatcher is put in ``connection.execute_wrappers`` of every connection (so capture works
with ``DEBUG=False`` and has no 9,000-query limit).  Which logs receive a query is decided per
query: the logs active in the *context* that runs it (a ``ContextVar``, which asyncio tasks and
``sync_to_async`` threads inherit, so async ORM calls inside the block are captured), plus the
logs opened with ``threads=True``, which take queries from every thread.  Connections created
or first used in other threads while a capture is active get the dispatcher when they prepare
a cursor (a hook of ``perfkit.internals.capture``).
"""

from __future__ import annotations

import itertools
import re
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from time import perf_counter
from typing import Any

from django.core.signals import request_finished, request_started
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from perfkit.conf import perfkit_settings
from perfkit.instrument.locations import Origin, caller_origin
from perfkit.instrument.sql import fingerprint as _fingerprint
from perfkit.internals import capture as cursor_hooks

__all__ = ["CapturedQuery", "QueryGroup", "QueryLog", "capture_queries"]

_NOISE = re.compile(
    r"\s*(BEGIN|COMMIT|ROLLBACK|START TRANSACTION|SAVEPOINT|RELEASE|END)\b", re.IGNORECASE
)

_READ = re.compile(r"\s*\(?\s*(SELECT|WITH)\b", re.IGNORECASE)


class CapturedQuery:
    """One executed statement: SQL, params, database alias, seconds taken and where from."""

    __slots__ = (
        "_fingerprint",
        "alias",
        "callers",
        "duration",
        "location",
        "many",
        "params",
        "relation",
        "request",
        "setup",
        "sql",
    )

    def __init__(
        self,
        sql: str,
        params: Any,
        alias: str,
        duration: float,
        location: str | None,
        many: bool = False,
        *,
        callers: tuple[str, ...] = (),
        relation: str | None = None,
        setup: bool = False,
        request: int | None = None,
    ) -> None:
        self.sql = sql
        self.params = params
        self.alias = alias
        self.duration = duration
        self.location = location
        self.many = many
        self.callers = callers  # user frames that called ``location``: next one, outermost
        self.relation = relation  # "app_label.Model.accessor" when a relation was loaded
        self.setup = setup  # run by the connection setting itself up (Django #28203)
        self.request = request  # which request (request_started) ran it, None outside one
        self._fingerprint: str | None = None

    @property
    def fingerprint(self) -> str:
        """The normalised SQL (``perfkit.instrument.sql.fingerprint``), computed on first use."""
        if self._fingerprint is None:
            self._fingerprint = _fingerprint(self.sql)
        return self._fingerprint

    @property
    def is_transaction_noise(self) -> bool:
        """True for BEGIN / COMMIT / SAVEPOINT / RELEASE / ROLLBACK [TO SAVEPOINT]."""
        return _NOISE.match(self.sql) is not None

    def identity(self) -> tuple[str, str, str]:
        """What makes two queries *identical*: alias, SQL and parameters."""
        return (self.alias, self.sql, repr(self.params))

    def __repr__(self) -> str:
        return f"<CapturedQuery {self.alias} {self.sql[:60]!r} at {self.location}>"


class QueryGroup:
    """Queries sharing a shape (or identical ones): ``fingerprint``, ``count``, ``locations``."""

    def __init__(self, queries: list[CapturedQuery]) -> None:
        self.queries = queries
        self.fingerprint = queries[0].fingerprint
        self.sql = queries[0].sql
        self.alias = queries[0].alias

    @property
    def count(self) -> int:
        return len(self.queries)

    @property
    def locations(self) -> list[str]:
        """Distinct locations in order of first appearance."""
        return list(dict.fromkeys(q.location or "?" for q in self.queries))

    @property
    def location(self) -> str:
        return self.locations[0]

    @property
    def callers(self) -> tuple[str, ...]:
        """The user frames that called the first query's location (a helper's callers)."""
        return self.queries[0].callers

    @property
    def relation(self) -> str | None:
        """The model relation the group's queries load (``app_label.Model.accessor``)."""
        return next((q.relation for q in self.queries if q.relation), None)

    def __repr__(self) -> str:
        return f"<QueryGroup {self.count}x {self.fingerprint[:60]!r} from {self.location}>"


class QueryLog:
    """The queries captured by ``capture_queries()``, in execution order."""

    def __init__(self, using: Sequence[str] | None, *, threads: bool, locations: bool) -> None:
        self.using = tuple(using) if using is not None else None
        self.threads = threads
        self.locations = locations
        self.queries: list[CapturedQuery] = []

    def __len__(self) -> int:
        return len(self.queries)

    def __iter__(self) -> Iterator[CapturedQuery]:
        return iter(list(self.queries))

    def __getitem__(self, index: int) -> CapturedQuery:
        return self.queries[index]

    def __repr__(self) -> str:
        return f"<QueryLog {len(self.queries)} queries>"

    def counted(self, *, include_noise: bool = False) -> list[CapturedQuery]:
        """The queries, without transaction noise unless ``include_noise``; never the ones a
        connection ran to set itself up (``SET TIME ZONE``, a ``connection_created``
        receiver's ``PRAGMA``...: Django #28203)."""
        if include_noise:
            return [q for q in self.queries if not q.setup]
        return [q for q in self.queries if not (q.is_transaction_noise or q.setup)]

    def count(self, alias: str | None = None, *, include_noise: bool = False) -> int:
        """Number of queries (on ``alias`` only when given), transaction noise excluded."""
        return sum(
            1 for q in self.counted(include_noise=include_noise) if alias in (None, q.alias)
        )

    def clear(self) -> None:
        self.queries.clear()

    def _groups(self, key: Any, minimum: int, *, reads: bool = False) -> list[QueryGroup]:
        buckets: dict[Any, list[CapturedQuery]] = {}
        for query in self.counted():
            if reads and not _READ.match(query.sql):
                continue
            buckets.setdefault(key(query), []).append(query)
        groups = [QueryGroup(qs) for qs in buckets.values() if len(qs) >= minimum]
        groups.sort(key=lambda g: -g.count)  # stable: ties stay in order of first execution
        return groups

    def duplicates(self) -> list[QueryGroup]:
        """Groups of identical queries (same alias, SQL and params) run more than once in one
        request (or outside requests)."""
        return self._groups(lambda q: (*q.identity(), q.request), 2)

    def similar(self) -> list[QueryGroup]:
        """Groups of queries with the same fingerprint run more than once."""
        return self._groups(lambda q: (q.alias, q.fingerprint), 2)

    def nplusone(self, threshold: int | None = None) -> list[QueryGroup]:
        """Groups of one SELECT shape run ``threshold`` times or more from the same location,
        within one request: two requests each loading one author are no N+1.

        Only reads count: a loop of INSERTs shows in ``similar()``, but it is no lazy load.
        """
        if threshold is None:
            threshold = perfkit_settings.NPLUSONE_THRESHOLD
        return self._groups(
            lambda q: (q.alias, q.fingerprint, q.location, q.request), threshold, reads=True
        )


# --- the dispatcher --------------------------------------------------------------------------

_context_logs: ContextVar[tuple[QueryLog, ...]] = ContextVar("perfkit_query_logs", default=())
_thread_logs: list[QueryLog] = []
_lock = threading.Lock()
_active = 0
_installed: weakref.WeakSet[BaseDatabaseWrapper] = weakref.WeakSet()
_NO_ORIGIN = Origin(None, (), None, False)
# the request being handled in this context (request_started .. request_finished), so
# duplicates and N+1 are judged per request
_request: ContextVar[int | None] = ContextVar("perfkit_request", default=None)
_requests = itertools.count(1)
# the same, shared by every task and thread started from a capture's context: the async test
# client sends request_started from a task of its own (Signal.asend gathers its receivers),
# whose context changes never reach the view
_request_box: ContextVar[list[int | None] | None] = ContextVar("perfkit_request_box", default=None)


def _request_started(**kwargs: Any) -> None:
    number = next(_requests)
    _request.set(number)
    box = _request_box.get()
    if box is not None:
        box[0] = number


def _request_finished(**kwargs: Any) -> None:
    _request.set(None)
    box = _request_box.get()
    if box is not None:
        box[0] = None


def _current_request() -> int | None:
    request = _request.get()
    if request is None:
        box = _request_box.get()
        request = box[0] if box is not None else None
    return request


def _dispatch(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    logs = _context_logs.get()
    if _thread_logs:
        logs = logs + tuple(log for log in _thread_logs if log not in logs)
    if not logs:
        return execute(sql, params, many, context)
    start = perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        duration = perf_counter() - start
        alias = context["connection"].alias
        origin = None
        request = _current_request()
        for log in logs:
            if log.using is not None and alias not in log.using:
                continue
            if origin is None:
                origin = caller_origin(2) if log.locations else _NO_ORIGIN
            log.queries.append(
                CapturedQuery(
                    sql,
                    params,
                    alias,
                    duration,
                    origin.location,
                    many,
                    callers=origin.callers,
                    relation=origin.relation,
                    setup=origin.setup,
                    request=request,
                )
            )


def _install(connection: BaseDatabaseWrapper) -> None:
    if _dispatch not in connection.execute_wrappers:
        # outermost: sees the same SQL and params as Django's own debug cursor
        connection.execute_wrappers.insert(0, _dispatch)
        _installed.add(connection)


def _activate() -> None:
    global _active
    with _lock:
        _active += 1
        if _active == 1:
            # connections first used (or created in other threads) while capturing
            cursor_hooks.add_cursor_hook(_install)
            request_started.connect(_request_started, dispatch_uid="perfkit_capture")
            request_finished.connect(_request_finished, dispatch_uid="perfkit_capture")
    for connection in connections.all(initialized_only=True):
        _install(connection)


def _deactivate() -> None:
    global _active
    with _lock:
        _active -= 1
        if _active:
            return
        cursor_hooks.remove_cursor_hook(_install)
        request_started.disconnect(dispatch_uid="perfkit_capture")
        request_finished.disconnect(dispatch_uid="perfkit_capture")
        for connection in list(_installed):
            try:
                connection.execute_wrappers.remove(_dispatch)
            except ValueError:
                pass
        _installed.clear()


def _aliases(using: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if using is None:
        return None
    aliases = (using,) if isinstance(using, str) else tuple(using)
    unknown = [a for a in aliases if a not in connections.settings]
    if unknown:
        from perfkit.exceptions import ImproperlyConfiguredError

        raise ImproperlyConfiguredError(
            f"capture_queries(using={using!r}): no database named {unknown[0]!r}; "
            f"choose among {sorted(connections.settings)} or pass using=None for all."
        )
    return aliases


@contextmanager
def capture_queries(
    using: str | Sequence[str] | None = None,
    *,
    threads: bool = False,
    locations: bool | None = None,
) -> Iterator[QueryLog]:
    """Capture the queries run inside the block on ``using`` (one alias, a list, None = all).

    Queries of async ORM calls awaited inside the block are captured; queries of other
    threads only with ``threads=True``.  ``locations`` defaults to
    ``PERFKIT["CAPTURE_LOCATIONS"]``.
    """
    if locations is None:
        locations = perfkit_settings.CAPTURE_LOCATIONS
    log = QueryLog(_aliases(using), threads=threads, locations=bool(locations))
    _activate()
    box_token = _request_box.set([None]) if _request_box.get() is None else None
    token = _context_logs.set((*_context_logs.get(), log))
    if threads:
        _thread_logs.append(log)
    try:
        yield log
    finally:
        if threads:
            _thread_logs.remove(log)
        try:
            _context_logs.reset(token)
            if box_token is not None:
                _request_box.reset(box_token)
        except ValueError:  # exited in another context (a fixture torn down elsewhere)
            _context_logs.set(tuple(x for x in _context_logs.get() if x is not log))
        _deactivate()
