"""Warming in the calling process, with no broker: ``perfkit_warm --sync`` and eager mode."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from perfkit.warming import chunks as _chunks
from perfkit.warming.registry import Warmer

__all__ = ["warm_sync"]


def warm_sync(
    warmer: Warmer, *, progress: Callable[[int, int, int], None] | None = None
) -> dict[str, Any]:
    """Warm every chunk of ``warmer`` here and now; returns the same summary as ``perfkit.warm``.

    ``progress(done, total, failed)`` is called after each chunk.
    """
    started = time.monotonic()
    encoded = list(warmer.encoded_chunks())
    total = sum(len(c) for c in encoded)
    stored, done = 0, 0
    failed: list[list[Any]] = []
    for calls in encoded:
        outcome = _chunks.run_chunk(warmer, calls)
        # no broker to retry through: transient failures get one immediate second try
        if outcome.retry:
            again = _chunks.run_chunk(warmer, outcome.retry)
            outcome.stored += again.stored
            outcome.failed += again.failed + [
                [a, k, f"{again.retry_reason} (after 1 retry)"] for a, k in again.retry
            ]
        stored += outcome.stored
        failed += outcome.failed
        done += len(calls)
        if progress is not None:
            progress(done, total, len(failed))
    return {
        "warmer": warmer.name,
        "total": total,
        "stored": stored,
        "skipped": 0,
        "failed_count": len(failed),
        "failed": failed[:200],
        "chunks": len(encoded),
        "seconds": round(time.monotonic() - started, 6),
    }
