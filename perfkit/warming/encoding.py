"""JSON-only arguments: what a warmer plans is encoded before it reaches the broker.

Model instances travel as ``{"m": "app_label.model", "pk": pk}`` and are loaded in the worker
with one ``in_bulk`` query per model and chunk.  Tuples travel as ``{"t": [...]}`` so a cached
function gets back the same type (and so the same cache key) it would get in the web process.
Anything else that is not plain JSON raises ``WarmingArgumentError`` at enqueue time, naming the
warmer and the value, instead of kombu's bare ``EncodeError`` in the middle of a fan-out.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from django.apps import apps
from django.db import models

from perfkit.exceptions import WarmingArgumentError

__all__ = ["Call", "decode_calls", "encode_call"]

# one planned call of a cached function: positional args, keyword args
Call = tuple[tuple[Any, ...], dict[str, Any]]

_TAGS = ({"m", "pk"}, {"t"}, {"d"})
_SCALARS = frozenset({int, str, float, bool, type(None)})
_HINT = (
    "Warmer arguments must be JSON values (str, int, float, bool, None, lists, dicts with str "
    "keys), tuples of them, or model instances; convert other values first, e.g. "
    "date.isoformat() or str(uuid)."
)


def _encode(value: Any, warmer: str, call: Call) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
    elif isinstance(value, models.Model):
        if value.pk is None:
            raise WarmingArgumentError(
                f"Warmer {warmer!r} planned an unsaved {type(value).__name__} instance "
                f"({value!r}) in call {_show(call)}: only saved instances can be sent "
                "(they travel as their primary key). Save it first or pass plain values."
            )
        return {"m": value._meta.label_lower, "pk": _encode(value.pk, warmer, call)}
    elif isinstance(value, tuple):
        return {"t": [_encode(v, warmer, call) for v in value]}
    elif isinstance(value, list):
        return [_encode(v, warmer, call) for v in value]
    elif isinstance(value, dict) and all(isinstance(k, str) for k in value):
        body = {k: _encode(v, warmer, call) for k, v in value.items()}
        return {"d": body} if set(value) in _TAGS else body
    raise WarmingArgumentError(
        f"Warmer {warmer!r} planned a value that cannot be sent as JSON: {value!r} "
        f"({type(value).__name__}) in call {_show(call)}. {_HINT}"
    )


def _show(call: Call) -> str:
    args, kwargs = call
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    text = "(" + ", ".join(parts) + ")"
    return text if len(text) <= 200 else text[:197] + "...)"


def encode_call(call: Call, *, warmer: str) -> list[Any]:
    """Encode a call as ``[args_list, kwargs_dict]`` of plain JSON, or raise naming ``warmer``."""
    args, kwargs = call
    return [
        [_encode(a, warmer, call) for a in args],
        {str(k): _encode(v, warmer, call) for k, v in kwargs.items()},
    ]


def _refs(value: Any, found: dict[str, set[Any]]) -> None:
    if isinstance(value, list):
        for v in value:
            _refs(v, found)
    elif isinstance(value, dict):
        if set(value) == {"m", "pk"}:
            found[value["m"]].add(value["pk"])
        elif set(value) == {"d"}:  # a user's dict shaped like a tag: its own keys are data
            for v in value["d"].values():
                _refs(v, found)
        else:
            for v in value.values():
                _refs(v, found)


class MissingInstance(LookupError):
    """A model instance named in a chunk no longer exists in the database."""


def _decode(value: Any, loaded: dict[str, dict[Any, models.Model]]) -> Any:
    if isinstance(value, list):
        return [_decode(v, loaded) for v in value]
    if not isinstance(value, dict):
        return value
    keys = set(value)
    if keys == {"m", "pk"}:
        instances = loaded[value["m"]]
        model = apps.get_model(value["m"])
        pk = model._meta.pk.to_python(value["pk"])
        if pk not in instances:
            raise MissingInstance(f"{model.__name__} with pk {value['pk']!r} no longer exists")
        return instances[pk]
    if keys == {"t"}:
        return tuple(_decode(v, loaded) for v in value["t"])
    if keys == {"d"}:
        return {k: _decode(v, loaded) for k, v in value["d"].items()}
    return {k: _decode(v, loaded) for k, v in value.items()}


def decode_calls(
    encoded: list[list[Any]], *, using: str | None = None
) -> tuple[list[Call], list[tuple[list[Any], dict[str, Any], str]]]:
    """Decode a chunk: one ``in_bulk`` query per model named in it.

    Returns the decodable calls and the failures (encoded args, kwargs, reason) of calls whose
    instances were deleted since planning.
    """
    found: dict[str, set[Any]] = defaultdict(set)
    plain = True  # every call is scalars only (ids, slugs): nothing to load, nothing to untag
    for args, kwargs in encoded:
        if kwargs or not all(type(a) in _SCALARS for a in args):
            plain = False
            _refs(args, found)
            _refs(list(kwargs.values()), found)
    if plain:
        return [(tuple(args), {}) for args, _kwargs in encoded], []
    loaded: dict[str, dict[Any, models.Model]] = {}
    for label, pks in found.items():
        manager = apps.get_model(label)._base_manager
        if using:
            manager = manager.db_manager(using)
        loaded[label] = manager.in_bulk(list(pks))
    calls: list[Call] = []
    failures: list[tuple[list[Any], dict[str, Any], str]] = []
    for args, kwargs in encoded:
        try:
            decoded = {k: _decode(v, loaded) for k, v in kwargs.items()}
            calls.append((tuple(_decode(args, loaded)), decoded))
        except MissingInstance as exc:
            failures.append((args, kwargs, f"MissingInstance: {exc}"))
    return calls, failures
