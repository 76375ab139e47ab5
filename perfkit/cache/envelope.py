"""What perfkit stores under an entry key, and how a read judges it.

An envelope holds the value, the tokens of its generations as read *before* computing,
when and how long it was computed, and when it stops being fresh.  It is read together with the
current generation tokens in one ``get_many`` (one round trip).  It is stored as a plain tuple
(``pack``): the C unpickler builds one in half the time of a NamedTuple, whose class it must look
up and call.  The hit path reads the tuple by index; the rest of perfkit works on the
``Envelope`` NamedTuple ``loaded`` makes of it.

Caches whose serializer is JSON (django-redis' ``JSONSerializer``) cannot carry a tuple or
bytes: for them the envelope is stored as a JSON list and the value goes through
``to_json``/``from_json``, a tagged encoding that keeps tuples, bytes and non-string dict keys;
a value JSON cannot carry raises ``CacheSerializationError`` naming its type.
"""

from __future__ import annotations

import base64
import math
import random
from typing import Any, NamedTuple

from perfkit.exceptions import CacheSerializationError

__all__ = [
    "EARLY",
    "FRESH",
    "INVALID",
    "MAGIC",
    "STALE",
    "CacheSerializationError",
    "Envelope",
    "from_json",
    "judge",
    "pack",
    "to_json",
]

MAGIC = "pk3"  # "pk2" stored a NamedTuple: such entries are judged INVALID and recomputed
FRESH, EARLY, STALE, INVALID = "fresh", "early", "stale", "invalid"


class Envelope(NamedTuple):
    magic: str
    value: Any
    tokens: tuple[Any, ...]
    computed_at: float
    compute_time: float
    soft: float  # the time it stops being fresh (inf: until invalidated)


# the positions in a stored envelope (what ``pack`` returns)
VALUE, TOKENS, COMPUTED_AT, COMPUTE_TIME, SOFT = 1, 2, 3, 4, 5


def pack(
    value: Any, tokens: tuple[Any, ...], computed_at: float, compute_time: float, soft: float
) -> tuple[Any, ...]:
    """The envelope stored for ``value``: a plain tuple in ``Envelope``'s field order."""
    return (MAGIC, value, tokens, computed_at, compute_time, soft)


def is_envelope(entry: Any) -> bool:
    """True for an envelope written by ``pack`` (anything else under our key is corrupt)."""
    return type(entry) is tuple and len(entry) == 6 and entry[0] == MAGIC


def loaded(entry: Any) -> Any:
    """The ``Envelope`` of a stored envelope; anything else unchanged (judged INVALID)."""
    return Envelope._make(entry) if is_envelope(entry) else entry


def judge(
    entry: Any,
    keys: tuple[str, ...],
    found: dict[str, Any],
    now: float,
    *,
    beta: float,
    stale: float | None,
) -> str:
    """FRESH, EARLY (fresh, but XFetch says recompute now), STALE (servable) or INVALID.

    Generations decide first: one changed or missing token makes the entry INVALID, whatever
    its age; a changed dependency is never served, not even as stale.
    """
    if type(entry) is not Envelope or entry.magic != MAGIC:
        return INVALID
    if not tokens_match(entry.tokens, keys, found):
        return INVALID
    soft = entry.soft
    if now >= soft:
        if stale is not None and now < soft + stale:
            return STALE
        return INVALID
    return EARLY if draws_early(entry, now, beta) else FRESH


def tokens_match(tokens: tuple[Any, ...], keys: tuple[str, ...], found: dict[str, Any]) -> bool:
    """Are the generation tokens an entry was computed under (``tokens``, for ``keys``) still
    the current ones in ``found``?  A missing generation counts as changed."""
    if len(tokens) != len(keys):
        return False
    for key, token in zip(keys, tokens, strict=False):  # noqa: SIM110 (all() is slower here)
        if found.get(key) != token:
            return False
    return True


def draws_early(entry: tuple[Any, ...], now: float, beta: float) -> bool:
    """XFetch (Vattani et al., VLDB 2015): recompute a fresh entry early, with a probability
    that rises as expiry nears, scaled by how long the value takes to compute.  ``entry``: an
    ``Envelope`` or a stored envelope."""
    if not beta:
        return False
    delta: float = entry[COMPUTE_TIME]
    return delta > 0 and now - delta * beta * math.log(random.random() or 1e-12) >= entry[SOFT]


# -- JSON-serializing caches ---------------------------------------------------------------------
_TUPLE, _BYTES, _DICT = "__pk_t", "__pk_b", "__pk_d"
_TAGS = {_TUPLE, _BYTES, _DICT}


def envelope_to_json(entry: tuple[Any, ...], where: str) -> list[Any]:
    """A stored envelope (or an ``Envelope``) as a JSON-safe list (its value tagged by
    ``to_json``)."""
    return [entry[0], to_json(entry[VALUE], where), list(entry[TOKENS]), *entry[COMPUTED_AT:]]


def envelope_from_json(entry: Any) -> Any:
    """The stored envelope a JSON cache returned as a list; anything else unchanged."""
    if type(entry) is not list or len(entry) != 6 or entry[0] != MAGIC:
        return entry
    magic, value, tokens, computed_at, compute_time, soft = entry
    return (magic, from_json(value), tuple(tokens), computed_at, compute_time, soft)


def to_json(value: Any, where: str) -> Any:
    """``value`` with tuples, bytes and non-string-keyed dicts tagged, for a JSON serializer.

    Raises ``CacheSerializationError`` for a value JSON cannot carry (``where`` names the
    function in the message).
    """
    cls = type(value)
    if value is None or cls in (str, int, bool, float):
        return value
    if cls is list:
        return [to_json(v, where) for v in value]
    if cls is tuple:
        return {_TUPLE: [to_json(v, where) for v in value]}
    if cls is bytes:
        return {_BYTES: base64.b64encode(value).decode("ascii")}
    if cls is dict:
        if all(type(k) is str for k in value) and not (_TAGS & value.keys()):
            return {k: to_json(v, where) for k, v in value.items()}
        return {_DICT: [[to_json(k, where), to_json(v, where)] for k, v in value.items()]}
    raise CacheSerializationError(
        f"{where} returned a {cls.__module__}.{cls.__qualname__} value (in {value!r:.80}), "
        "which the cache's JSON serializer cannot store faithfully. Return JSON types "
        "(dict, list, tuple, str, int, float, bool, None, bytes), or use a pickle serializer "
        "for this cache."
    )


def from_json(value: Any) -> Any:
    """The inverse of ``to_json``."""
    cls = type(value)
    if cls is list:
        return [from_json(v) for v in value]
    if cls is dict:
        if len(value) == 1:
            ((tag, inner),) = value.items()
            if tag == _TUPLE:
                return tuple(from_json(v) for v in inner)
            if tag == _BYTES:
                return base64.b64decode(inner)
            if tag == _DICT:
                return {_hashable(from_json(k)): from_json(v) for k, v in inner}
        return {k: from_json(v) for k, v in value.items()}
    return value


def _hashable(key: Any) -> Any:
    return tuple(_hashable(k) for k in key) if type(key) is list else key
