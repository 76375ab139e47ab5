"""Warmers: which cached function to fill, with which arguments, how urgently and how often."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar, overload

from django.db import models

from perfkit.exceptions import WarmingError
from perfkit.warming.encoding import Call, encode_call

__all__ = ["Warmer", "discover", "get_warmer", "registry", "warmer"]

ArgsSource = Callable[[], Iterable[Any] | models.QuerySet[Any]]
_Args = TypeVar("_Args", bound=Callable[[], Any])
# a normalised schedule: ("interval", seconds) or ("crontab", "m h dom mon dow")
Schedule = tuple[str, float] | tuple[str, str]

_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,\-]+$")
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*([smh])\s*$")


def per_second(rate_limit: str | None) -> float | None:
    """``"100/s"``, ``"600/m"``, ``"3600/h"`` as calls per second (None: unlimited or invalid)."""
    match = _RATE.match(rate_limit) if isinstance(rate_limit, str) else None
    if not match:
        return None
    return float(match[1]) / {"s": 1, "m": 60, "h": 3600}[match[2]]


@dataclass(frozen=True)
class Warmer:
    """A registered warmer; see ``warmer()`` for the meaning of each field."""

    name: str
    func: Any
    args: ArgsSource | None
    priority: int
    queue: str | None
    schedule: Schedule | None
    chunk_size: int
    rate_limit: str | None

    def _source(self) -> Iterable[Any]:
        source = self.args() if self.args is not None else [()]
        if isinstance(source, models.QuerySet):
            return source.iterator(chunk_size=2000)
        return source

    def plan(self) -> Iterator[Call]:
        """Yield ``(args, kwargs)`` for every call this warmer makes."""
        for item in self._source():
            yield _call_of(item)

    def encoded_chunks(self) -> Iterator[list[list[Any]]]:
        """Yield the plan as JSON-ready chunks of ``chunk_size`` calls (raises on non-JSON)."""
        chunk: list[list[Any]] = []
        size = self.chunk_size
        for item in self._source():
            # the common plan, one int or str per call, needs no walk through encode_call:
            # planning 10,000 ids is on the path of every warm
            if type(item) is int or type(item) is str:
                chunk.append([[item], {}])
            else:
                chunk.append(encode_call(_call_of(item), warmer=self.name))
            if len(chunk) >= size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def _call_of(item: Any) -> Call:
    """One planned item as a call: a tuple/list of args, a dict of kwargs, or one argument."""
    if isinstance(item, tuple | list):
        return tuple(item), {}
    if isinstance(item, dict):
        return (), dict(item)
    return (item,), {}


registry: dict[str, Warmer] = {}


def discover() -> None:
    """Import every installed app's ``warmers`` module (where warmers are registered)."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("warmers")


def get_warmer(name: str) -> Warmer:
    """The registered warmer ``name`` (loading the apps' ``warmers`` modules if needed)."""
    if name not in registry:
        discover()
    try:
        return registry[name]
    except KeyError:
        known = ", ".join(sorted(registry)) or "none registered"
        raise WarmingError(
            f"No warmer named {name!r} (known: {known}). Register it with "
            "perfkit.warming.warmer() in an app's warmers.py."
        ) from None


def _func_name(func: Any) -> str:
    name = getattr(func, "perfkit_name", None)
    if name:
        return str(name)
    return f"{func.__module__}.{getattr(func, '__qualname__', func.__name__)}"


def check_priority(value: Any, *, where: str) -> int:
    """Return ``value`` if it is a perfkit priority (int 0-9), else raise naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 9:
        raise WarmingError(
            f"{where}: priority must be an int from 0 (least urgent) to 9 (most urgent), "
            f"not {value!r}."
        )
    return value


def _parse_schedule(value: Any, where: str) -> Schedule | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value > 0:
            return ("interval", float(value))
    elif isinstance(value, str):
        fields = value.split()
        if len(fields) == 5 and all(_CRON_FIELD.match(f) for f in fields):
            return ("crontab", " ".join(fields))
    raise WarmingError(
        f"{where}: schedule must be a number of seconds > 0, a timedelta or a crontab string "
        f'with 5 fields like "*/15 * * * *" (minute hour day-of-month month day-of-week), '
        f"not {value!r}."
    )


@overload
def warmer(
    cached_func: Any,
    *,
    name: str | None = None,
    args: ArgsSource,
    priority: int = 5,
    queue: str | None = None,
    schedule: float | timedelta | str | None = None,
    chunk_size: int = 100,
    rate_limit: str | None = None,
) -> Warmer: ...


@overload
def warmer(
    cached_func: Any,
    *,
    name: str | None = None,
    args: None = None,
    priority: int = 5,
    queue: str | None = None,
    schedule: float | timedelta | str | None = None,
    chunk_size: int = 100,
    rate_limit: str | None = None,
) -> Callable[[_Args], _Args]: ...


def warmer(
    cached_func: Any,
    *,
    name: str | None = None,
    args: ArgsSource | None = None,
    priority: int = 5,
    queue: str | None = None,
    schedule: float | timedelta | str | None = None,
    chunk_size: int = 100,
    rate_limit: str | None = None,
) -> Any:
    """Register a warmer for ``cached_func`` (a function decorated with ``@cached``).

    ``args`` returns the calls to warm: argument tuples, dicts of keyword arguments, single
    values, or a queryset (each instance is one call).  Without ``args`` the function is warmed
    with no arguments, and the return value is a decorator for an args function::

        @warmer(book_detail, priority=7, schedule="*/15 * * * *")
        def book_ids():
            return Book.objects.values_list("id", flat=True)

    ``priority`` runs from 0 to 9, 9 the most urgent, on every broker.
    """
    if not callable(cached_func) or not (
        hasattr(cached_func, "warm_many") or hasattr(cached_func, "refresh")
    ):
        raise WarmingError(
            f"warmer() needs a function decorated with @cached, not {cached_func!r}. "
            "Decorate it with perfkit.cache.cached first."
        )

    def register(args_func: ArgsSource | None) -> Any:
        warmer_name = name or _func_name(cached_func)
        where = f"warmer {warmer_name!r}"
        if args_func is not None and not callable(args_func):
            raise WarmingError(
                f"{where}: args must be a callable returning the calls to warm, not "
                f"{args_func!r}. Wrap a fixed list: args=lambda: [...]."
            )
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise WarmingError(f"{where}: chunk_size must be an int >= 1, not {chunk_size!r}.")
        if rate_limit is not None and not per_second(rate_limit):
            raise WarmingError(
                f"{where}: rate_limit must look like '100/s', '600/m' or '3600/h' (calls per "
                f"second, minute or hour), not {rate_limit!r}."
            )
        if queue is not None and (not isinstance(queue, str) or not queue):
            raise WarmingError(f"{where}: queue must be a non-empty str or None, not {queue!r}.")
        registry[warmer_name] = Warmer(
            name=warmer_name,
            func=cached_func,
            args=args_func,
            priority=check_priority(priority, where=where),
            queue=queue,
            schedule=_parse_schedule(schedule, where),
            chunk_size=chunk_size,
            rate_limit=rate_limit,
        )
        return args_func if args_func is not None else cached_func

    # Without args the function is warmed once with no arguments, until the returned decorator
    # is applied to an args function, which replaces that registration.
    register(args)
    return registry[name or _func_name(cached_func)] if args is not None else register
