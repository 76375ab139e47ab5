"""perfkit's settings: one ``PERFKIT`` dict in the Django settings, read lazily.

``perfkit.conf.perfkit_settings.KEY_PREFIX`` returns the user's value or the default.  The
user's dict is read on first use and re-read after ``override_settings(PERFKIT=...)``, so tests
can change settings freely.  Every key is declared once in ``OPTIONS`` below: its default, the
types it accepts, what it means, and (optionally) the allowed values.  ``perfkit.checks`` reports
unknown keys, wrong types and bad values from this same table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

__all__ = ["OPTIONS", "Option", "perfkit_settings"]


@dataclass(frozen=True)
class Option:
    """One key of the ``PERFKIT`` dict."""

    default: Any
    types: tuple[type, ...]
    doc: str
    choices: tuple[Any, ...] | None = None
    # returns an error text when the value is bad, else None
    validate: Callable[[Any], str | None] | None = None


def _non_negative(value: Any) -> str | None:
    return None if value >= 0 else "must be zero or a positive number"


def _positive(value: Any) -> str | None:
    return None if value > 0 else "must be a positive number"


def _prefix(value: Any) -> str | None:
    if not value or any(c.isspace() for c in value) or len(value) > 40:
        return "must be 1-40 characters with no whitespace (it starts every cache key)"
    return None


_NUM = (int, float)

OPTIONS: dict[str, Option] = {
    # --- perfkit.cache -----------------------------------------------------------------------
    "KEY_PREFIX": Option("pk", (str,), "Prefix of every cache key perfkit writes.", None, _prefix),
    "CACHE_ALIAS": Option("default", (str,), "Cache alias used when `cache=` is not given."),
    "DEFAULT_TIMEOUT": Option(
        300,
        _NUM,
        "Seconds a cached value stays fresh when `timeout=` is not given.",
        None,
        _positive,
    ),
    "FAIL_MODE": Option(
        "open",
        (str,),
        "`open`: a cache failure computes the value directly; `closed`: the error propagates.",
        ("open", "closed"),
    ),
    "INVALIDATION": Option(
        True, (bool,), "Connect the ORM write hooks that invalidate dependent entries."
    ),
    "INVALIDATION_ALIASES": Option(
        [],
        (list, tuple),
        "Cache aliases that always receive invalidations, besides `CACHE_ALIAS` and the aliases "
        "of the @cached functions imported in the writing process (list the aliases that only "
        "code in other processes uses).",
    ),
    "LOCK_TIMEOUT": Option(
        30,
        _NUM,
        "Seconds a single-flight lock is held at most before it expires.",
        None,
        _positive,
    ),
    "LOCK_WAIT": Option(
        5.0,
        _NUM,
        "Seconds a caller waits for another caller computing the same key before computing "
        "itself.",
        None,
        _non_negative,
    ),
    "REFRESH_THREADS": Option(
        1,
        (int,),
        "Threads per process that refresh stale (and XFetch-early) `@cached` values in the "
        "background while callers get the cached value; used when Celery does not take the "
        "refresh. 0: the caller that wins the lock refreshes in its own request.",
        None,
        lambda value: (
            None
            if not isinstance(value, bool) and 0 <= value <= 64
            else "must be an integer from 0 to 64"
        ),
    ),
    "XFETCH_BETA": Option(
        1.0,
        _NUM,
        "XFetch beta: >1 refreshes earlier, <1 later, 0 turns early refresh off.",
        None,
        _non_negative,
    ),
    "ERROR_LOG_INTERVAL": Option(
        60,
        _NUM,
        "Seconds between two warnings logged for the same cache error.",
        None,
        _non_negative,
    ),
    "GENERATION_TIMEOUT": Option(
        30 * 24 * 3600,
        (int, float, type(None)),
        "Seconds a generation key lives after its last write (None: forever). An expired "
        "generation counts as changed: its entries are recomputed once.",
        None,
        lambda value: None if value is None or value > 0 else "must be positive or None",
    ),
    "GENERATIONS_PER_DATABASE": Option(
        False,
        (bool,),
        "A write on a database that is not the model's home (`router.db_for_write`) bumps "
        "generations of that database only; entries computed there depend on "
        "`on_database(alias, ...)`.",
    ),
    "REPLICA_LAG": Option(
        0,
        _NUM,
        "Seconds a read replica may lag: a value computed within this time of a write to one "
        "of its dependencies is served but not stored. 0 turns the check off.",
        None,
        _non_negative,
    ),
    "TRACK_RAW_SQL": Option(
        True,
        (bool,),
        "Invalidate the models of the tables that raw SQL writes (INSERT, UPDATE, DELETE, "
        "REPLACE, TRUNCATE through a Django cursor).",
    ),
    "VIEW_CACHE_HEADER": Option(
        True, (bool,), "In DEBUG, add `X-Perfkit-Cache: hit|miss|stale` to cached views."
    ),
    "VIEW_CACHE_COOKIES": Option(
        [],
        (list, tuple),
        "Cookie names (or `prefix*` patterns) a request may carry and still be served from "
        "`@cached_view`; any other cookie bypasses it (the session, CSRF and language cookies "
        "have their own rules).",
    ),
    # --- perfkit.backends --------------------------------------------------------------------
    "BREAKER_THRESHOLD": Option(
        1, (int,), "Consecutive failures that open a backend's circuit breaker.", None, _positive
    ),
    "BREAKER_COOLDOWN": Option(
        5.0,
        _NUM,
        "Seconds an open circuit breaker skips the backend before probing it again.",
        None,
        _non_negative,
    ),
    # --- perfkit.testing ---------------------------------------------------------------------
    "RECORD_MODE": Option(
        "once",
        (str,),
        "Default mode of `perf_record` files.",
        ("once", "none", "all", "overwrite", "ratchet"),
    ),
    "NPLUSONE_THRESHOLD": Option(
        2,
        (int,),
        "Repeats of one query shape from one place that count as an N+1.",
        None,
        _positive,
    ),
    "NPLUSONE_ALLOW": Option(
        [],
        (list, tuple),
        "Regexes matched against an N+1 group's SQL fingerprint or location to allow it.",
    ),
    "CAPTURE_LOCATIONS": Option(True, (bool,), "Record the code location of each captured query."),
    "QUERY_COUNT_MIDDLEWARE": Option(
        None,
        (bool, type(None)),
        "Turn `QueryCountMiddleware` on (True) or off (False); None follows DEBUG.",
    ),
    # --- perfkit.warming ---------------------------------------------------------------------
    "WARMING_QUEUE": Option("perfkit", (str,), "Celery queue perfkit's tasks are routed to."),
    "WARMING_TIME_LIMIT": Option(
        300, _NUM, "Hard time limit (seconds) of one warming chunk.", None, _positive
    ),
    "WARMING_SOFT_TIME_LIMIT": Option(
        240, _NUM, "Soft time limit (seconds) of one warming chunk.", None, _positive
    ),
    "REFRESH_IN_BACKGROUND": Option(
        True,
        (bool,),
        "Refresh stale entries through Celery (`perfkit.refresh`) when Celery is configured.",
    ),
    # --- perfkit.bench -----------------------------------------------------------------------
    "BENCH_REPEAT": Option(
        20,
        (int,),
        "Default repeats per scenario (timed runs of `perfkit_bench`, `--repeat`).",
        None,
        _positive,
    ),
    "BENCH_WARMUP": Option(
        3,
        (int,),
        "Default warm-up runs per scenario (untimed, `--warmup`).",
        None,
        _non_negative,
    ),
}


_UNREAD = object()


class PerfkitSettings:
    """Attribute access to the ``PERFKIT`` dict with defaults from ``OPTIONS``."""

    KEY_PREFIX: str
    CACHE_ALIAS: str
    DEFAULT_TIMEOUT: float
    FAIL_MODE: str
    INVALIDATION: bool
    INVALIDATION_ALIASES: list[str]
    LOCK_TIMEOUT: float
    LOCK_WAIT: float
    REFRESH_THREADS: int
    XFETCH_BETA: float
    ERROR_LOG_INTERVAL: float
    GENERATION_TIMEOUT: float | None
    GENERATIONS_PER_DATABASE: bool
    REPLICA_LAG: float
    TRACK_RAW_SQL: bool
    VIEW_CACHE_HEADER: bool
    VIEW_CACHE_COOKIES: list[str]
    BREAKER_THRESHOLD: int
    BREAKER_COOLDOWN: float
    RECORD_MODE: str
    NPLUSONE_THRESHOLD: int
    NPLUSONE_ALLOW: list[str]
    CAPTURE_LOCATIONS: bool
    QUERY_COUNT_MIDDLEWARE: bool | None
    WARMING_QUEUE: str
    WARMING_TIME_LIMIT: float
    WARMING_SOFT_TIME_LIMIT: float
    REFRESH_IN_BACKGROUND: bool
    BENCH_REPEAT: int
    BENCH_WARMUP: int

    def __init__(self) -> None:
        self._source: Any = _UNREAD
        self._user: dict[str, Any] = {}

    def user_settings(self) -> dict[str, Any]:
        """The ``PERFKIT`` dict as the user wrote it (empty when absent or not a dict)."""
        # Compared by identity on every access rather than cached once: a read made while the
        # settings module is still being imported (a package importing perfkit from its
        # __init__) must not pin an incomplete value. Django caches the attribute itself, so
        # this costs one attribute lookup.
        value = getattr(settings, "PERFKIT", None)
        if value is not self._source:
            self._user = dict(value) if isinstance(value, dict) else {}
            self._source = value
        return self._user

    def __getattr__(self, name: str) -> Any:
        option = OPTIONS.get(name)
        if option is None:
            raise AttributeError(f"{name!r} is not a perfkit setting; see perfkit.conf.OPTIONS")
        return self.user_settings().get(name, option.default)

    def reload(self) -> None:
        """Forget the cached ``PERFKIT`` dict; the next access reads it again."""
        self._source = _UNREAD


perfkit_settings = PerfkitSettings()


@receiver(setting_changed)
def _reload_on_change(*, setting: str, **kwargs: Any) -> None:
    if setting == "PERFKIT":
        perfkit_settings.reload()
