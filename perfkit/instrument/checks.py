"""System checks of the N+1 settings of perfkit.testing and the middleware (perfkit.E4xx)."""

from __future__ import annotations

import re
from typing import Any

from django.core.checks import CheckMessage, Error, Tags, register

from perfkit.conf import perfkit_settings
from perfkit.exceptions import ImproperlyConfiguredError
from perfkit.instrument.allow import AllowRule, compile_rules, is_relation_pattern

__all__ = ["allow_patterns", "check_nplusone_allow"]


def _bad_patterns() -> list[tuple[Any, str]]:
    value: Any = perfkit_settings.NPLUSONE_ALLOW  # typed list[str]; a settings file may say else
    if not isinstance(value, list | tuple):
        return []  # the type itself is reported by perfkit.E003
    bad = []
    for pattern in value:
        if isinstance(pattern, str) and is_relation_pattern(pattern):
            continue  # "app.Model.field" (fnmatch wildcards allowed)
        try:
            re.compile(pattern)
        except (re.error, TypeError) as exc:
            bad.append((pattern, str(exc)))
    return bad


def allow_patterns() -> list[AllowRule]:
    """``PERFKIT["NPLUSONE_ALLOW"]`` as rules; a bad entry raises naming the setting."""
    bad = _bad_patterns()
    if bad:
        pattern, problem = bad[0]
        raise ImproperlyConfiguredError(
            f"PERFKIT['NPLUSONE_ALLOW'] holds {pattern!r}, which is neither a relation "
            f"('app_label.Model.field') nor a regular expression ({problem}); fix or remove it."
        )
    return compile_rules(perfkit_settings.NPLUSONE_ALLOW)


@register(Tags.compatibility, "perfkit")
def check_nplusone_allow(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """perfkit.E401: every ``NPLUSONE_ALLOW`` entry must be a relation or a valid regex."""
    return [
        Error(
            f"PERFKIT['NPLUSONE_ALLOW'] holds {pattern!r}, which is not a regular expression "
            f"({problem}).",
            hint="Write a relation, 'shop.Author.books' (fnmatch wildcards: 'shop.A*'), or a "
            "Python regex matched against an N+1 group's SQL fingerprint or location, e.g. "
            "r'FROM shop_author' or r'shop/views\\.py'.",
            id="perfkit.E401",
        )
        for pattern, problem in _bad_patterns()
    ]
