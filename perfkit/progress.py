"""Progress bars of perfkit's management commands (and the demo's ``seed_demo``).

``bar(done, total)`` draws ``[#####-----]``; ``ProgressLine`` writes one progress line per
update to a command's stdout, redrawn in place (``\\r``) on a terminal and as plain lines
otherwise; ``rich_bar(total)`` is the rich progress bar ``perfkit_bench`` shows on a terminal.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.progress import Progress

__all__ = ["ProgressLine", "bar", "rich_bar"]

WIDTH = 30


def bar(done: int, total: int, width: int = WIDTH) -> str:
    """``[###---]`` filled in proportion ``done / total`` (full when there is nothing to do)."""
    filled = min(width, width * done // total) if total > 0 else width
    return f"[{'#' * filled}{'-' * (width - filled)}]"


class ProgressLine:
    """Progress lines on ``stream`` (a command's ``self.stdout``).

    On a terminal each line replaces the previous one until ``done`` reaches ``total``; on a
    pipe every line stays.  ``interval`` (seconds, per kind of output) skips the updates that
    come sooner than that after the last one shown, except the last one (``done >= total``).
    """

    def __init__(
        self,
        stream: Any,
        *,
        tty: bool | None = None,
        interval: tuple[float, float] = (0.0, 0.0),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.tty = bool(stream.isatty()) if tty is None else tty
        self.interval = interval[0] if self.tty else interval[1]
        self.clock = clock
        self._last: float | None = None

    def show(self, text: str, done: int, total: int) -> None:
        """Write ``text`` as the progress line for ``done`` of ``total``."""
        now = self.clock()
        finished = done >= total
        if not finished and self._last is not None and now - self._last < self.interval:
            return
        self._last = now
        self.stream.write(text, ending="\r" if self.tty and not finished else "\n")
        self.stream.flush()


def rich_bar(total: int, description: str) -> tuple[Progress, Any] | None:
    """A transient rich progress bar and its task, or None without rich installed."""
    try:
        from rich.progress import Progress
    except ImportError:
        return None
    progress = Progress(transient=True, console=None)
    return progress, progress.add_task(description, total=total)
