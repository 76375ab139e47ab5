"""The clock of perfkit.cache: envelope freshness, lock waits.  Injectable for tests.

``use(clock)`` swaps it (a context manager restores the previous one), so a test moves time
forward instead of sleeping::

    with clock.use(clock.FakeClock()) as fake:
        f()
        fake.advance(61)  # the entry is now expired for perfkit
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Clock", "FakeClock", "current", "in_use", "use"]


class Clock:
    """Wall time (``now``), monotonic time and ``sleep``: the real ones."""

    now = staticmethod(time.time)
    monotonic = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)


class FakeClock(Clock):
    """A clock that moves only when told (``advance``), or when a waiter ``sleep``s."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:  # type: ignore[override]
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


# the clock in use, as a one-item list (the hit path reads ``in_use[0]`` without a call)
in_use: list[Clock] = [Clock()]


def current() -> Clock:
    return in_use[0]


@contextmanager
def use(clock: Clock) -> Iterator[Clock]:
    """Make ``clock`` perfkit.cache's clock inside the block."""
    previous = in_use[0]
    in_use[0] = clock
    try:
        yield clock
    finally:
        in_use[0] = previous
