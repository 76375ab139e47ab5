"""``CACHES`` entries from one URL: ``cache_url("redis://127.0.0.1:6379/0?key_prefix=shop")``.

Redis URLs get safe defaults: connect/socket timeouts well under a second, a bounded connection
pool, the hiredis parser when it is installed (redis-py picks it), no client-side retries, and
perfkit's fail-open backend with a circuit breaker (``perfkit.backends.resilient``).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from perfkit.backends._redis_url import redis_entry
from perfkit.backends.urlspec import (
    BACKENDS,
    DEFAULT_REDIS_OPTIONS,
    NEEDS,
    OPTIONS,
    SCHEME_ALIASES,
    SCHEMES,
    CacheURLError,
    masked,
)

__all__ = ["DEFAULT_REDIS_OPTIONS", "SCHEMES", "CacheURLError", "cache_url", "caches_from_env"]


def _parse_options(url: str, scheme: str, given: Mapping[str, Any]) -> dict[str, Any]:
    kind = SCHEMES[scheme]
    valid = sorted(name for name, spec in OPTIONS.items() if kind in spec[2])
    parsed: dict[str, Any] = {}
    for name, raw in given.items():
        spec = OPTIONS.get(name)
        if spec is None or kind not in spec[2]:
            what = "unknown option" if spec is None else "option that does not apply to it"
            raise CacheURLError(
                f"cache_url({masked(url)!r}): {name!r} is an {what}. "
                f"Valid options for {scheme}:// are: {', '.join(valid)}."
            )
        parser, expected, _kinds = spec
        try:
            parsed[name] = parser(raw)
        except (TypeError, ValueError) as exc:
            shown = "***" if name == "password" else repr(raw)
            raise CacheURLError(
                f"cache_url({masked(url)!r}): option {name!r} is {shown}; it must be {expected}."
            ) from exc
        package = NEEDS.get((name, parsed[name]))
        if package and importlib.util.find_spec(package) is None:
            raise CacheURLError(
                f"cache_url({masked(url)!r}): {name}={parsed[name]} needs the {package!r} "
                f"package, which is not installed. Install it with: pip install {package}"
            )
    return parsed


def _common(options: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    for name in ("timeout", "key_prefix", "version"):
        if name in options:
            entry[name.upper()] = options.pop(name)
    extra = {k.upper(): options.pop(k) for k in ("max_entries", "cull_frequency") if k in options}
    if extra:
        entry["OPTIONS"] = extra
    return entry


def cache_url(url: str, **options: Any) -> dict[str, Any]:
    """One ``CACHES`` entry from ``url``; keyword options override the URL's query parameters.

    Schemes: ``redis://``, ``rediss://``, ``unix://``, ``redis+sentinel://``,
    ``redis+cluster://``, ``rediss+cluster://``, ``db://table``, ``locmem://name``,
    ``file:///path``, ``dummy://``, and
    django-environ's names for them (``rediscache://``, ``dbcache://``, ``locmemcache://``,
    ``filecache://``, ``dummycache://``).  See docs/backends.md for every option.

    Raises :class:`CacheURLError` (an ``ImproperlyConfigured`` and a ``ValueError``) naming what
    is wrong with the URL.
    """
    if not isinstance(url, str):
        raise TypeError(f"cache_url() takes a URL string, not {type(url).__name__} ({url!r}).")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or "://" not in url:
        problem = f"unknown scheme {scheme!r}" if "://" in url else "the URL has no scheme"
        ours = sorted(s for s in SCHEMES if s not in SCHEME_ALIASES)
        raise CacheURLError(
            f"cache_url({masked(url)!r}): {problem}. "
            f"Valid schemes: {', '.join(f'{s}://' for s in ours)} "
            "(e.g. redis://127.0.0.1:6379/0)."
        )
    scheme = SCHEME_ALIASES.get(scheme, scheme)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    opts = _parse_options(url, scheme, {**query, **options})
    kind = SCHEMES[scheme]
    entry = _common(opts)
    location = unquote(parts.netloc + parts.path)
    if kind == "redis":
        entry.update(redis_entry(url, scheme, parts, opts))
    elif kind == "db":
        if not location or "/" in location:
            raise CacheURLError(
                f"cache_url({masked(url)!r}): db:// needs a table name, e.g. db://perfkit_cache "
                "(then run `python manage.py createcachetable`)."
            )
        entry.update(BACKEND=BACKENDS["db"], LOCATION=location)
        if "fail_open" in opts:
            entry.setdefault("OPTIONS", {})["FAIL_OPEN"] = opts["fail_open"]
    elif kind == "file":
        if not parts.path or parts.netloc:
            raise CacheURLError(
                f"cache_url({masked(url)!r}): file:// needs an absolute directory after three "
                "slashes, e.g. file:///var/tmp/django_cache."
            )
        entry.update(BACKEND=BACKENDS["file"], LOCATION=unquote(parts.path))
    else:
        entry.update(BACKEND=BACKENDS[kind], LOCATION=location)
    return entry


def caches_from_env(
    default: str = "locmem://",
    *,
    env: str | Sequence[str] = "CACHE_URL",
    options: Mapping[str, Any] | None = None,
    **aliases: str,
) -> dict[str, dict[str, Any]]:
    """A whole ``CACHES`` dict: "default" from the first set variable of ``env``, else ``default``.

    Every other keyword is an alias and its URL: ``caches_from_env(sessions="redis://...")``.
    ``options`` are passed to ``cache_url`` for every alias.
    """
    names = [env] if isinstance(env, str) else list(env)
    url = next((os.environ[n] for n in names if os.environ.get(n)), default)
    extra = dict(options or {})
    caches = {"default": cache_url(url, **extra)}
    for alias, alias_url in aliases.items():
        caches[alias] = cache_url(alias_url, **extra)
    return caches
