"""What happens when the cache fails: a ``cache_error`` signal, a rate-limited warning, and
(with ``FAIL_MODE = "closed"``) the error itself."""

from __future__ import annotations

import logging
import time
from typing import Any

from perfkit.conf import perfkit_settings
from perfkit.signals import cache_error

__all__ = ["log_only", "report"]

logger = logging.getLogger("perfkit.cache")

# (function name, operation, exception type) -> monotonic time of the last warning
_last_warning: dict[tuple[str, str, str], float] = {}


_CONSEQUENCE = {
    "bump": "the invalidation is kept and replayed when the cache answers again",
    "refresh": "the cached value was served instead",
}


def report(
    sender: Any,
    name: str,
    key: Any,
    alias: str,
    error: BaseException,
    op: str,
    *,
    closed: bool = True,
) -> None:
    """Record one cache failure of ``name`` (a function, or "invalidation"); re-raise if closed.

    Call it from inside the ``except`` block so ``FAIL_MODE = "closed"`` re-raises the error.
    ``closed=False``: never re-raise (op "refresh": the function itself failed while a cached
    value could be served).
    """
    stats = getattr(sender, "_stats", None)
    if stats is not None:
        stats.errors += 1
    if cache_error.receivers:
        cache_error.send(sender=sender, key=key, cache=alias, error=error, operation=op)
    _warn(name, alias, error, op, _CONSEQUENCE.get(op, "the value was computed without the cache"))
    if closed and perfkit_settings.FAIL_MODE == "closed":
        raise error


def log_only(name: str, alias: str, error: BaseException, op: str) -> None:
    """Log a failure that has no caller to report to (rate-limited like ``report``)."""
    _warn(name, alias, error, op, None)


def _warn(name: str, alias: str, error: BaseException, op: str, consequence: str | None) -> None:
    """One warning per (name, operation, error type) and ``ERROR_LOG_INTERVAL``."""
    ident = (name, op, type(error).__qualname__)
    now = time.monotonic()
    last = _last_warning.get(ident)
    if last is not None and now - last < perfkit_settings.ERROR_LOG_INTERVAL:
        return
    _last_warning[ident] = now
    text = "perfkit.cache: %s failed for %s on cache %r (%s: %s)"
    args: tuple[Any, ...] = (op, name, alias, type(error).__qualname__, error)
    if consequence is not None:
        text, args = text + "; %s", (*args, consequence)
    logger.warning(text, *args)
