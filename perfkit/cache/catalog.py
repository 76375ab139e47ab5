"""The registry of cached functions and the result type of ``warm_many``.

See docs/architecture.md, "The parts".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["MISSING", "WarmResult", "registry"]

# perfkit_name ("module.qualname") -> the @cached wrapper, filled at decoration time
registry: dict[str, Any] = {}


class _Missing:
    """The type of ``MISSING``: what ``.peek()`` returns when nothing usable is cached."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "perfkit.cache.MISSING"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"


MISSING = _Missing()


@dataclass
class WarmResult:
    """What ``wrapper.warm_many(calls)`` did."""

    stored: int = 0
    failed: list[tuple[tuple[Any, ...], dict[str, Any], str]] = field(default_factory=list)
    seconds: float = 0.0
