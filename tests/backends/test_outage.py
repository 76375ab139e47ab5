"""End to end: @cached on a perfkit Redis backend keeps answering while Redis hangs."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import caches
from django.test import override_settings

from perfkit.backends import cache_url
from perfkit.cache import cached, registry
from perfkit.signals import cache_error


def test_cached_function_computes_directly_while_redis_hangs(
    redis_server, fake_clock, monkeypatch
):
    url = f"redis://127.0.0.1:{redis_server.port}/0?socket_timeout=0.3"
    perfkit = {**settings.PERFKIT, "BREAKER_COOLDOWN": 0.5}
    calls: list[int] = []
    errors: list[str] = []

    def on_error(sender, **kwargs):
        errors.append(type(kwargs["error"]).__name__)

    @cached(cache="outage", timeout=60)
    def price(book_id: int) -> int:
        calls.append(book_id)
        return book_id * 100

    cache_error.connect(on_error)
    try:
        with override_settings(
            CACHES={**settings.CACHES, "outage": cache_url(url)}, PERFKIT=perfkit
        ):
            caches["outage"].perfkit_breaker.reset()
            monkeypatch.setattr(caches["outage"].perfkit_breaker, "clock", fake_clock)
            assert price(1) == 100
            assert price(1) == 100
            assert calls == [1]  # the second call was a hit

            redis_server.pause()
            try:
                start = time.perf_counter()
                assert price(1) == 100  # computed directly: the first call pays one timeout
                first = time.perf_counter() - start
                later = []
                for _ in range(10):
                    start = time.perf_counter()
                    assert price(1) == 100
                    later.append(time.perf_counter() - start)
            finally:
                redis_server.resume()
            assert first < 0.3 * 4  # bounded by the socket timeout (a few calls at most)
            # the breaker is open: nobody waits for Redis (a wait would cost the 0.3 s timeout;
            # the margin absorbs scheduling hiccups of a loaded CI machine)
            assert max(later) < 0.25
            assert len(calls) == 12  # every call while down computed the value
            assert errors  # perfkit.cache saw the failures through perfkit_strict
            assert set(errors) <= {"CacheUnavailable", "TimeoutError", "ConnectionError"}

            fake_clock.advance(0.55)
            price(1)  # the probe: Redis answers again
            calls.clear()
            assert price(1) == 100
            assert calls == []  # cached again
    finally:
        cache_error.disconnect(on_error)
        registry.pop(price.perfkit_name, None)


def test_cached_view_says_error_not_miss_while_the_cache_is_down(redis_server):
    from django.http import HttpResponse
    from django.test import RequestFactory

    from perfkit.cache import cached_view

    @cached_view(60, cache="outage")
    def page(request):
        return HttpResponse("books")

    url = f"redis://127.0.0.1:{redis_server.port}/0"
    with override_settings(CACHES={**settings.CACHES, "outage": cache_url(url)}, DEBUG=True):
        caches["outage"].perfkit_breaker.reset()
        first = page(RequestFactory().get("/books/"))
        assert first["X-Perfkit-Cache"] == "miss"
        redis_server.kill()
        down = page(RequestFactory().get("/books/"))
        assert down.status_code == 200
        assert down.content == b"books"
        assert down["X-Perfkit-Cache"] == "error"
    registry.pop(page.perfkit_cached.perfkit_name, None)
