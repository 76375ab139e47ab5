"""Exceptions raised by perfkit. Each also subclasses the builtin it behaves like."""

from __future__ import annotations

__all__ = [
    "AmbiguousNameError",
    "CacheKeyError",
    "CacheSerializationError",
    "CacheUnavailable",
    "ImproperlyConfiguredError",
    "MissingExtraError",
    "PerfkitError",
    "WarmingArgumentError",
    "WarmingError",
]


class PerfkitError(Exception):
    """Base class of every exception perfkit raises."""


class ImproperlyConfiguredError(PerfkitError, ValueError):
    """A perfkit setting or argument has a value perfkit cannot use."""


class CacheKeyError(PerfkitError, TypeError):
    """An argument of a cached function cannot be turned into a stable cache key."""


class AmbiguousNameError(ImproperlyConfiguredError):
    """Two different functions would share one cached name (and so their cache entries)."""


class CacheSerializationError(PerfkitError, TypeError):
    """A value the cache's serializer cannot store faithfully."""


class MissingExtraError(PerfkitError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class CacheUnavailable(PerfkitError, ConnectionError):
    """A cache backend is down or its circuit breaker is open; perfkit did not wait for it."""


class WarmingError(PerfkitError, ValueError):
    """A cache warmer is declared or called with a value perfkit.warming cannot use."""


class WarmingArgumentError(PerfkitError, TypeError):
    """A warmer planned an argument that cannot travel through the broker as JSON."""


class PerfAssertionError(PerfkitError, AssertionError):
    """A perfkit.testing assertion failed; the message lists the queries and what repeats."""
