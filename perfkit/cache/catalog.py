"""The registry of cached functions and the result type of ``warm_many``.

See docs/architecture.md, "The parts".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from perfkit.exceptions import AmbiguousNameError

__all__ = ["MISSING", "WarmResult", "register", "registry"]

# perfkit_name ("module.qualname", see perfkit.cache.naming) -> the @cached wrapper, filled at
# decoration time
registry: dict[str, Any] = {}


def register(wrapper: Any) -> None:
    """Put ``wrapper`` in the registry; AmbiguousNameError if another function has its name."""
    from perfkit.cache.naming import same_function

    name = wrapper.perfkit_name
    existing = registry.get(name)
    if existing is not None and not same_function(existing.func, wrapper.func):
        raise AmbiguousNameError(
            f"@cached: {name!r} already names another function ({existing.func!r}); they "
            "would share cache entries. Pass name= (a unique, stable name) to @cached for one "
            "of them. Functions made at run time are told apart by their line and the "
            "values they close over; these close over a value with no stable form, or are "
            "two definitions with one name."
        )
    registry[name] = wrapper


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
