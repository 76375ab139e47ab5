"""System checks for the ``PERFKIT`` setting (ids perfkit.E001-E009).

Other subpackages register their own checks with ids in their own ranges:
E1xx/W1xx perfkit.cache, E2xx/W2xx perfkit.backends, E3xx/W3xx perfkit.warming,
E4xx/W4xx perfkit.testing and middleware, E5xx/W5xx perfkit.bench and contrib.
"""

from __future__ import annotations

import difflib
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from perfkit.conf import OPTIONS

__all__ = ["check_settings"]


def _type_names(types: tuple[type, ...]) -> str:
    return " or ".join("None" if t is type(None) else t.__name__ for t in types)


def _matches(value: Any, types: tuple[type, ...]) -> bool:
    # bool is an int subclass: a number setting must not silently accept True
    if isinstance(value, bool) and bool not in types:
        return False
    return isinstance(value, types)


@register(Tags.compatibility, "perfkit")
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Report unknown keys, values of the wrong type and bad values in ``PERFKIT``."""
    value = getattr(settings, "PERFKIT", {})
    if not isinstance(value, dict):
        return [
            Error(
                f"PERFKIT must be a dict, not {type(value).__name__} ({value!r}).",
                hint="Write PERFKIT = {...} in your settings, or remove it to use the defaults.",
                id="perfkit.E001",
            )
        ]
    messages: list[CheckMessage] = []
    for key, val in value.items():
        option = OPTIONS.get(key)
        if option is None:
            close = difflib.get_close_matches(str(key), OPTIONS, n=1)
            hint = (
                f"Did you mean {close[0]!r}?"
                if close
                else "Valid keys: " + ", ".join(sorted(OPTIONS)) + "."
            )
            messages.append(
                Error(f"PERFKIT[{key!r}] is not a perfkit setting.", hint=hint, id="perfkit.E002")
            )
            continue
        if not _matches(val, option.types):
            messages.append(
                Error(
                    f"PERFKIT[{key!r}] must be {_type_names(option.types)}, "
                    f"not {type(val).__name__} ({val!r}).",
                    hint=f"{option.doc} Default: {option.default!r}.",
                    id="perfkit.E003",
                )
            )
            continue
        if option.choices is not None and val not in option.choices:
            messages.append(
                Error(
                    f"PERFKIT[{key!r}] is {val!r}, which is not one of "
                    f"{', '.join(map(repr, option.choices))}.",
                    hint=f"{option.doc} Default: {option.default!r}.",
                    id="perfkit.E004",
                )
            )
            continue
        problem = option.validate(val) if option.validate else None
        if problem:
            messages.append(
                Error(
                    f"PERFKIT[{key!r}] is {val!r}: it {problem}.",
                    hint=f"{option.doc} Default: {option.default!r}.",
                    id="perfkit.E004",
                )
            )
    return messages
