"""Cached functions and warmers used by the warming tests (also imported by worker subprocesses).

Every computation is recorded in a Redis list under this test process's key prefix, so the test
sees what a worker (a thread here, or a subprocess) computed, and in which order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches

from demo_project.bookstore.models import Author, Book
from perfkit.cache import cached

CALLS_KEY = f"{settings.TEST_KEY_PREFIX}:warming-calls"
# set by tests that need a chunk to block until they release it (in-process workers only)
release = threading.Event()
# notified by every record() made in this process (the in-process worker threads)
_recorded = threading.Condition()


def redis_client():
    return caches["redis"].client.get_client()


def record(label: str, value: object) -> None:
    redis_client().rpush(CALLS_KEY, f"{label}:{value}:{threading.current_thread().name}")
    with _recorded:
        _recorded.notify_all()


def wait_for(condition: Callable[[], bool], timeout: float, poll: float = 0.1) -> bool:
    """Wait until ``condition()`` holds, at most ``timeout`` seconds; False if it never did.

    A record() made by a worker thread of this process wakes the wait at once; records made by
    worker subprocesses are seen within ``poll`` seconds.
    """
    deadline = time.monotonic() + timeout
    with _recorded:
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            _recorded.wait(min(remaining, poll))
    return True


def recorded() -> list[str]:
    return [v.decode() for v in redis_client().lrange(CALLS_KEY, 0, -1)]


def forget_records() -> None:
    redis_client().delete(CALLS_KEY)


@cached(cache="redis", timeout=600)
def book_title(book_id: int) -> str:
    record("book_title", book_id)
    return Book.objects.only("title").get(pk=book_id).title


@cached(cache="redis", timeout=600)
def author_label(author: Author) -> str:
    # uses only the instance it was given: any query in the chunk comes from loading it
    record("author_label", author.pk)
    return f"{author.name} ({author.country})"


@cached(cache="redis", timeout=600)
def square(n: int) -> int:
    record("square", n)
    return n * n


@cached(cache="redis", timeout=600)
def urgent(n: int) -> int:
    record("urgent", n)
    return n


@cached(cache="redis", timeout=600)
def slow(n: int, seconds: float = 0.6) -> int:
    record("slow", n)
    time.sleep(seconds)
    return n


@cached(cache="redis", timeout=600)
def blocking(n: int) -> int:
    record("blocking", n)
    release.wait(15)
    return n


_attempts: dict[int, int] = {}


@cached(cache="redis", timeout=600)
def flaky(n: int) -> int:
    """Fails with ConnectionError on the first attempt for each odd n."""
    _attempts[n] = _attempts.get(n, 0) + 1
    record("flaky", n)
    if n % 2 and _attempts[n] == 1:
        raise ConnectionError(f"cache node for {n} unreachable")
    if n == 4:
        raise ValueError("four is not allowed")
    return n


@cached(cache="redis", timeout=1, stale=120, early_refresh=False)
def stale_clock(n: int) -> str:
    record("stale_clock", n)
    return f"{n}@{time.time():.3f}"


def register_subprocess_warmers() -> None:
    """Warmers that worker subprocesses know too (they import this module with -I)."""
    from perfkit.warming import warmer

    warmer(slow, name="t.softlimit", args=lambda: [{"n": n, "seconds": 0.6} for n in range(4)])
    warmer(square, name="t.after", args=lambda: [12])


register_subprocess_warmers()
