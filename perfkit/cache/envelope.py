"""What perfkit stores under an entry key, and how a read judges it.

An envelope is a tuple ``(MAGIC, value, tokens, computed_at, compute_time, soft_expiry)``:
the value, the tokens of its generations as read *before* computing, when and how long it was
computed, and when it stops being fresh.  It is read together with the current generation
tokens in one ``get_many`` (one round trip).  A plain tuple pickles small and loads fast.
"""

from __future__ import annotations

import math
import random
from typing import Any

__all__ = ["EARLY", "FRESH", "INVALID", "MAGIC", "STALE", "judge", "pack"]

MAGIC = "pk1"
FRESH, EARLY, STALE, INVALID = "fresh", "early", "stale", "invalid"


def pack(
    value: Any, tokens: tuple[Any, ...], computed_at: float, compute_time: float, soft: float
) -> tuple[Any, ...]:
    """The envelope stored for ``value``."""
    return (MAGIC, value, tokens, computed_at, compute_time, soft)


def is_envelope(entry: Any) -> bool:
    """True for a tuple written by ``pack`` (anything else under our key counts as corrupt)."""
    return type(entry) is tuple and len(entry) == 6 and entry[0] == MAGIC


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
    if entry is None or not is_envelope(entry):
        return INVALID
    tokens = entry[2]
    if len(tokens) != len(keys):
        return INVALID
    for key, token in zip(keys, tokens, strict=False):
        if found.get(key) != token:
            return INVALID
    soft = entry[5]
    if now >= soft:
        if stale is not None and now < soft + stale:
            return STALE
        return INVALID
    # XFetch (Vattani et al., VLDB 2015): recompute early with a probability that rises as
    # expiry nears, scaled by how long the value takes to compute
    delta = entry[4]
    if beta > 0 and delta > 0 and now - delta * beta * math.log(random.random() or 1e-12) >= soft:
        return EARLY
    return FRESH
