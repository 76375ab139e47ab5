"""A view that sends perfkit's cache signals exactly as perfkit.cache sends them (contract B)."""

from __future__ import annotations

import threading

from django.http import HttpRequest, HttpResponse

from perfkit import signals


def cached_thing() -> None:
    """Stands in for a @cached wrapper (the sender of the signals)."""


cached_thing.perfkit_name = "shop.views.cached_thing"  # type: ignore[attr-defined]


def signalling_view(request: HttpRequest) -> HttpResponse:
    deps = ["pk:g:bookstore.book"]
    signals.cache_miss.send(
        sender=cached_thing, key="pk:c:1", cache="default", compute_time=0.0123, dependencies=deps
    )
    signals.cache_hit.send(
        sender=cached_thing, key="pk:c:1", cache="default", age=2.5, dependencies=deps
    )
    signals.cache_stale.send(
        sender=cached_thing, key="pk:c:2", cache="default", age=400.0, dependencies=[]
    )
    signals.cache_error.send(
        sender=cached_thing,
        key="pk:c:3",
        cache="redis",
        error=ConnectionError("down"),
        operation="get",
    )
    signals.cache_invalidated.send(
        sender=None, targets=["bookstore.book:42"], keys=["pk:g:bookstore.book:42"]
    )
    # another thread's events belong to another request: not shown
    other = threading.Thread(
        target=lambda: signals.cache_hit.send(
            sender=cached_thing, key="other", cache="default", age=1, dependencies=[]
        )
    )
    other.start()
    other.join()
    return HttpResponse("<html><body>ok</body></html>")
