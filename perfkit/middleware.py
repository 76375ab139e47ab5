"""``QueryCountMiddleware``: per request, log the query count, duplicates and N+1 groups.

Add ``"perfkit.middleware.QueryCountMiddleware"`` to ``MIDDLEWARE``.  It is on when
``PERFKIT["QUERY_COUNT_MIDDLEWARE"]`` is True, off when False, and follows ``DEBUG`` when None
(the default).  When off at start-up it raises ``MiddlewareNotUsed``, so Django drops it from
the chain: zero work per request.  In DEBUG it adds ``X-Perfkit-Queries`` (queries run) and
``X-Perfkit-Duplicates`` (queries that repeated an identical earlier one) to the response.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse

from perfkit.conf import perfkit_settings

__all__ = ["QueryCountMiddleware", "enabled"]

logger = logging.getLogger("perfkit.middleware")


def enabled() -> bool:
    """Whether the middleware works: the setting, or DEBUG when the setting is None."""
    value = perfkit_settings.QUERY_COUNT_MIDDLEWARE
    return bool(settings.DEBUG) if value is None else bool(value)


class QueryCountMiddleware:
    """Logs each request's queries (count, duplicates, N+1 with locations); DEBUG headers."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        if not enabled():
            raise MiddlewareNotUsed("perfkit: QUERY_COUNT_MIDDLEWARE is off")
        from perfkit.instrument.queries import capture_queries

        self._capture = capture_queries
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self.__acall__(request)
        start = perf_counter()
        with self._capture() as log:
            response = self.get_response(request)
        self._report(request, response, log, perf_counter() - start)
        return response  # type: ignore[no-any-return]

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        start = perf_counter()
        with self._capture() as log:
            response = await self.get_response(request)
        self._report(request, response, log, perf_counter() - start)
        return response  # type: ignore[no-any-return]

    def _report(self, request: HttpRequest, response: Any, log: Any, seconds: float) -> None:
        from perfkit.instrument.text import nplusone_lines, plural

        count = log.count()
        duplicate_groups = log.duplicates()
        duplicates = sum(g.count - 1 for g in duplicate_groups)
        nplusone = log.nplusone()
        if settings.DEBUG:
            response["X-Perfkit-Queries"] = str(count)
            response["X-Perfkit-Duplicates"] = str(duplicates)
        summary = (
            f"{request.method} {request.path}: {plural(count, 'query', 'queries')}, "
            f"{duplicates} duplicate{'s' if duplicates != 1 else ''}, "
            f"{plural(len(nplusone), 'N+1 group')} in {seconds * 1000:.1f} ms"
        )
        if not (duplicates or nplusone):
            logger.info(summary)
            return
        lines = [summary]
        lines += [
            f"  {g.count}x identical [{g.alias}] from {g.location}" for g in duplicate_groups
        ]
        lines += nplusone_lines(nplusone)
        logger.warning("\n".join(lines))
