"""Helpers of the perfkit.testing tests: where a line is, and the location text for it."""

from __future__ import annotations

import sys


def here(offset: int = 0) -> str:
    """``tests/testing/test_x.py:N in func`` for the caller's line plus ``offset``."""
    frame = sys._getframe(1)
    path = frame.f_code.co_filename.split("/work/main/")[-1]
    if "/tests/" in path:
        path = "tests/" + path.split("/tests/", 1)[1]
    return f"{path}:{frame.f_lineno + offset} in {frame.f_code.co_name}"
