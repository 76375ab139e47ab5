"""Cache keys: canonical argument encoding, stable digests, the key layout.

Keys never depend on ``hash()`` or ``id()``: the same call gives the same key in every process
and every Python run.  Layout (``P`` = ``PERFKIT["KEY_PREFIX"]``)::

    P:c:<module.qualname>:<digest of the arguments>   an entry (default key)
    P:c:<formatted key=>                              an entry (``key="book:{book_id}"``)
    P:g:<app_label.model>[:<pk>|:*]                   a generation (see generations.py)
    P:f:<module.qualname>                             the generation of one cached function
"""

from __future__ import annotations

import datetime
import decimal
import enum
import hashlib
import inspect
import uuid
from collections.abc import Callable
from typing import Any

from perfkit.exceptions import CacheKeyError

__all__ = ["KeyBuilder", "digest", "encode", "safe_key"]

MAX_KEY_LENGTH = 200  # memcached allows 250; leave room for Django's KEY_PREFIX and version


def digest(text: str) -> str:
    """A short stable digest of ``text`` (32 hex characters)."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def safe_key(key: str) -> str:
    """``key`` itself when it is short and has no whitespace/control characters, else a digest."""
    if len(key) <= MAX_KEY_LENGTH and key.isprintable() and " " not in key:
        return key
    return "h:" + digest(key)


class _Unkeyable(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


_SCALARS: dict[type, Callable[[Any], str]] = {
    str: repr,
    int: str,
    bool: lambda v: "T" if v else "F",
    type(None): lambda v: "N",
    float: lambda v: "f" + repr(v),
    bytes: lambda v: "b" + v.hex(),
    decimal.Decimal: lambda v: "d" + str(v.normalize()),
    uuid.UUID: lambda v: "u" + v.hex,
    datetime.date: lambda v: "D" + v.isoformat(),
    datetime.time: lambda v: "H" + v.isoformat(),
    datetime.timedelta: lambda v: "z" + repr(v.total_seconds()),
}


def _datetime(value: datetime.datetime) -> str:
    if value.tzinfo is not None and value.utcoffset() is not None:
        value = value.astimezone(datetime.UTC)
    return "DT" + value.isoformat()


def encode(value: Any) -> str:
    """A canonical string for ``value``: equal values give equal strings, across processes.

    Raises ``_Unkeyable`` for a value with no stable form (the caller names the argument).
    """
    cls = type(value)
    fast = _SCALARS.get(cls)
    if fast is not None:
        return fast(value)
    if cls is datetime.datetime:
        return _datetime(value)
    if cls is tuple:
        return "(" + ",".join([encode(v) for v in value]) + ")"
    if cls is list:
        return "[" + ",".join([encode(v) for v in value]) + "]"
    if cls is dict:
        items = sorted(encode(k) + ":" + encode(v) for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if cls is set or cls is frozenset:
        return "<" + ",".join(sorted(encode(v) for v in value)) + ">"
    custom = getattr(value, "__perfkit_key__", None)
    if custom is not None and not isinstance(value, type):
        # the class is part of the key: B(1) is not A(1), even when B inherits A's method
        return "k" + _type_name(cls) + "=" + encode(custom())
    meta = getattr(value, "_meta", None)
    if meta is not None and hasattr(meta, "label_lower"):
        label: str = meta.concrete_model._meta.label_lower
        if isinstance(value, type):
            return "M" + label
        if value.pk is None:
            raise _Unkeyable(value)
        return "m" + label + ":" + encode(value.pk)
    if isinstance(value, enum.Enum):
        return "e" + cls.__module__ + "." + cls.__qualname__ + "." + value.name
    if isinstance(value, type):
        return "t" + value.__module__ + "." + value.__qualname__
    # subclasses of the scalar types (str/int subclasses, aware datetime subclasses, ...)
    for base, func in _SCALARS.items():
        if isinstance(value, base) and base is not type(None):
            return func(value)
    if isinstance(value, datetime.datetime):
        return _datetime(value)
    # container subclasses (a namedtuple, a list subclass, an OrderedDict): their type is part
    # of the key, so a list subclass never shares a key with a tuple of the same items
    if isinstance(value, (tuple, list)):
        return "S" + _type_name(cls) + "(" + ",".join([encode(v) for v in value]) + ")"
    if isinstance(value, dict):
        items = sorted(encode(k) + ":" + encode(v) for k, v in value.items())
        return "S" + _type_name(cls) + "{" + ",".join(items) + "}"
    if isinstance(value, (set, frozenset)):
        return "S" + _type_name(cls) + "<" + ",".join(sorted(encode(v) for v in value)) + ">"
    raise _Unkeyable(value)


def _type_name(cls: type) -> str:
    return cls.__module__ + "." + cls.__qualname__


class KeyBuilder:
    """Builds the entry key of one decorated function's calls."""

    def __init__(self, func: Callable[..., Any], name: str, key: Any, version: Any) -> None:
        self.func = func
        self.name = name
        self.signature = inspect.signature(func)
        self.template = key if isinstance(key, str) else None
        self.key_func = key if callable(key) else None
        params = list(self.signature.parameters.values())
        simple = {inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD}
        # fast path: every parameter is positional, so a call binds without inspect
        self.simple = all(p.kind in simple for p in params)
        self.names = [p.name for p in params]
        self.defaults = [p.default for p in params]
        self.version = "" if version is None else f"v{version}:"
        head = "c:" + safe_key(name) + ":" + self.version
        # the argument digest (32) and KEY_PREFIX follow: keep the whole key within the limit
        self.head = head if len(head) <= 120 else "c:h:" + digest(head) + ":"

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The call's arguments by parameter name, defaults applied (TypeError like a call)."""
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.name}(): {exc}") from None
        bound.apply_defaults()
        return bound.arguments

    def _values(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
        if self.simple and not kwargs and len(args) <= len(self.names):
            missing = self.defaults[len(args) :]
            if inspect.Parameter.empty not in missing:
                return [*args, *missing]
        return list(self.bind(args, kwargs).values())

    def suffix(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        """The part of the entry key after ``P:`` for this call."""
        if self.template is not None:
            return (
                "c:" + self.version + safe_key(self.template.format_map(self.bind(args, kwargs)))
            )
        if self.key_func is not None:
            return "c:" + self.version + safe_key(str(self.key_func(*args, **kwargs)))
        values = self._values(args, kwargs)
        if not values:
            return self.head + "-"
        parts = []
        for index, value in enumerate(values):
            try:
                parts.append(encode(value))
            except _Unkeyable as exc:
                raise self._error(index, value, exc.value) from None
        return self.head + digest(",".join(parts))

    def _error(self, index: int, value: Any, culprit: Any) -> CacheKeyError:
        name = self.names[index] if index < len(self.names) else f"#{index}"
        shown = repr(culprit)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        why = (
            "an unsaved model instance has no pk"
            if getattr(culprit, "_meta", None) is not None
            else f"{type(culprit).__qualname__} values have no stable representation"
        )
        return CacheKeyError(
            f"@cached {self.name}(): argument {name!r} cannot be keyed stably ({why}: "
            f'{shown}). Pass key= to @cached (a format string such as "item:{{{name}}}" or a '
            f"callable of the arguments), or give the type a __perfkit_key__() method."
        )
