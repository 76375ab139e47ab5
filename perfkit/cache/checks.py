"""System checks of perfkit.cache (ids perfkit.E101-E103, W101, W102)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from perfkit.cache.catalog import registry
from perfkit.conf import perfkit_settings

__all__ = ["check_cache_aliases", "check_view_bounds"]


@register(Tags.caches, "perfkit")
def check_cache_aliases(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every alias perfkit.cache uses must be in ``CACHES``."""
    aliases = set(getattr(settings, "CACHES", {}) or {})
    messages: list[CheckMessage] = []
    default = perfkit_settings.CACHE_ALIAS
    if default not in aliases:
        messages.append(
            Error(
                f"PERFKIT['CACHE_ALIAS'] is {default!r}, which is not in CACHES "
                f"({', '.join(sorted(map(repr, aliases))) or 'empty'}).",
                hint="Set PERFKIT['CACHE_ALIAS'] to one of the CACHES aliases, or add it.",
                id="perfkit.E101",
            )
        )
    extra = perfkit_settings.INVALIDATION_ALIASES
    for alias in extra if isinstance(extra, (list, tuple)) else ():  # else perfkit.E003
        if alias not in aliases:
            messages.append(
                Error(
                    f"PERFKIT['INVALIDATION_ALIASES'] names {alias!r}, which is not in CACHES.",
                    hint="List only aliases of CACHES there (invalidations go to each of them).",
                    id="perfkit.E103",
                )
            )
    for name, wrapper in sorted(registry.items()):
        alias = wrapper._cache_arg
        if alias is not None and alias not in aliases:
            messages.append(
                Error(
                    f"@cached {name} uses cache={alias!r}, which is not in CACHES.",
                    hint="Pass cache= one of the CACHES aliases, or add the alias to CACHES.",
                    id="perfkit.E102",
                )
            )
        elif wrapper.stale is not None and not wrapper.lock:
            messages.append(
                Warning(
                    f"@cached {name} has stale={wrapper.stale!r} with lock=False: every caller "
                    f"of an expired entry recomputes it instead of one.",
                    hint="Drop lock=False (the lock decides which caller refreshes).",
                    id="perfkit.W101",
                )
            )
    return messages


@register(Tags.caches, "perfkit")
def check_view_bounds(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A ``@cached_view`` needs a finite timeout or a ``query=`` allow-list."""
    from django.urls import get_resolver

    from perfkit.cache.viewrules import UNBOUNDED_FIX, unbounded_problem, view_options

    try:
        get_resolver().url_patterns  # noqa: B018  (imports the views; class views decorate here)
    except Exception:  # a broken URLconf is Django's own check's to report
        pass
    return [
        Warning(unbounded_problem(name), hint=UNBOUNDED_FIX, id="perfkit.W102")
        for name, options in sorted(view_options.items())
        if options.unbounded and name in registry  # registry: the views still defined
    ]
