"""A circuit breaker: after a backend fails, skip it for a cool-down instead of paying its timeout.

States: closed (calls go through), open (calls are refused at once for
``PERFKIT["BREAKER_COOLDOWN"]`` seconds), half-open (one caller probes; its success closes the
breaker, its failure opens it again).  One breaker per server and process: every thread's backend
instance for the same LOCATION shares it, so an outage costs the process one timeout, not one per
thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from perfkit.conf import perfkit_settings

__all__ = ["CircuitBreaker", "breaker_for"]

logger = logging.getLogger("perfkit.backends")


class CircuitBreaker:
    """Counts consecutive failures of one backend; ``allow()`` says whether to try it now.

    ``clock`` (default ``time.monotonic``) gives the seconds it measures the cool-down with; a
    test passes (or assigns) a fake one to move time without sleeping.
    """

    def __init__(
        self,
        name: str,
        *,
        threshold: int | None = None,
        cooldown: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.clock = clock
        self._threshold = threshold
        self._cooldown = cooldown
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_at: float | None = None
        self.last_error: BaseException | None = None
        # calls that got the fail-open default instead of an answer (never reset; racy +=)
        self.failed_open = 0

    @property
    def threshold(self) -> int:
        """Consecutive failures that open it (default ``PERFKIT["BREAKER_THRESHOLD"]``)."""
        return (
            self._threshold if self._threshold is not None else perfkit_settings.BREAKER_THRESHOLD
        )

    @property
    def cooldown(self) -> float:
        """Seconds the open breaker refuses calls (default ``PERFKIT["BREAKER_COOLDOWN"]``)."""
        return self._cooldown if self._cooldown is not None else perfkit_settings.BREAKER_COOLDOWN

    @property
    def failures(self) -> int:
        """Consecutive failures so far (0 after a success)."""
        return self._failures

    def report(self) -> dict[str, Any]:
        """What perfkit_doctor shows: state, consecutive failures, calls that failed open (in
        this process, since it started) and the last error."""
        return {
            "state": "open" if self.is_open else "closed",
            "failures": self._failures,
            "failed_open": self.failed_open,
            "last_error": None if self.last_error is None else repr(self.last_error),
        }

    @property
    def is_open(self) -> bool:
        """True while the backend counts as down (open or half-open)."""
        return self._opened_at is not None

    def retry_in(self) -> float:
        """Seconds until the next probe is allowed (0 when closed or due)."""
        opened = self._opened_at
        if opened is None:
            return 0.0
        return max(0.0, opened + self.cooldown - self.clock())

    def allow(self) -> bool:
        """May the caller use the backend now?  True when closed, or for the one probing caller."""
        opened = self._opened_at
        if opened is None:
            return True
        now = self.clock()
        cooldown = self.cooldown
        if now - opened < cooldown:
            return False
        with self._lock:
            # one probe per cool-down; a probe whose caller never reported back expires
            if self._probe_at is not None and now - self._probe_at < cooldown:
                return False
            self._probe_at = now
            return True

    def success(self) -> None:
        """The backend answered: close the breaker."""
        if self._failures == 0 and self._opened_at is None:
            return
        with self._lock:
            was_open = self._opened_at is not None
            self._failures = 0
            self._opened_at = None
            self._probe_at = None
        if was_open:
            logger.warning("perfkit: cache %s is back; circuit breaker closed.", self.name)

    def failure(self, exc: BaseException) -> None:
        """The backend failed with ``exc``: count it, open the breaker at the threshold."""
        with self._lock:
            self._failures += 1
            self.last_error = exc
            probing = self._probe_at is not None
            opening = self._opened_at is None and self._failures >= self.threshold
            if opening or probing:
                self._opened_at = self.clock()
                self._probe_at = None
        if opening:
            logger.warning(
                "perfkit: cache %s failed (%s: %s); circuit breaker open, skipping it for %ss.",
                self.name,
                type(exc).__name__,
                exc,
                self.cooldown,
            )

    def reset(self) -> None:
        """Forget every failure (tests, or after reconfiguring the backend)."""
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._probe_at = None
            self.last_error = None

    def __repr__(self) -> str:
        state = "closed" if self._opened_at is None else "open"
        return f"<CircuitBreaker {self.name} {state} failures={self._failures}>"


_breakers: dict[str, CircuitBreaker] = {}
_registry_lock = threading.Lock()


def breaker_for(name: str) -> CircuitBreaker:
    """The process-wide breaker of the server called ``name`` (created on first use)."""
    breaker = _breakers.get(name)
    if breaker is None:
        with _registry_lock:
            breaker = _breakers.setdefault(name, CircuitBreaker(name))
    return breaker
