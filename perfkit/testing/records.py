"""``perf_record()``: compare a block's query and cache-operation shapes with a YAML record.

The record lives beside the test module (``test_x.py`` -> ``test_x.perf.yml``), keyed by the
test id (the pytest node id without its file part, or ``Class.method`` under unittest), plus
``#name`` when ``name`` is given.  Modes:

- ``once`` (default): write a missing record, compare an existing one.
- ``none``: compare only; a missing record fails.
- ``all``: write every record, never fail.
- ``overwrite``: like ``all``, and stale records (of tests that no longer exist) are pruned at
  the end of the pytest session.
- ``ratchet``: fail only when the block does *more* (new shapes, more queries of a shape, more
  cache operations or misses); when it does less, tighten the record.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from perfkit.conf import OPTIONS, perfkit_settings
from perfkit.exceptions import ImproperlyConfiguredError, PerfAssertionError
from perfkit.instrument.locations import _is_internal
from perfkit.testing import recordfile
from perfkit.testing.block import QueriesAndCacheBlock

__all__ = ["MODES", "PerfRecord", "perf_record", "prune_stale", "record_path", "stale_keys"]

MODES: tuple[str, ...] = OPTIONS["RECORD_MODE"].choices or ()

# set by the pytest plugin: --perfkit-record-mode, and the running test's (key, module file)
session_mode: str | None = None
current_test: tuple[str, Path] | None = None


def record_path(module_file: str | Path) -> Path:
    """``tests/test_x.py`` -> ``tests/test_x.perf.yml``."""
    module = Path(module_file)
    return module.with_name(f"{module.stem}.perf.yml")


def resolve_mode(mode: str | None, owner: str = "perf_record") -> str:
    chosen = mode or session_mode or perfkit_settings.RECORD_MODE
    if chosen not in MODES:
        raise ImproperlyConfiguredError(
            f"{owner}(mode={chosen!r}): unknown record mode; choose one of {', '.join(MODES)} "
            "(argument, --perfkit-record-mode or PERFKIT['RECORD_MODE'])."
        )
    return chosen


def _identify(name: str | None, path: str | Path | None) -> tuple[str, Path]:
    if current_test is not None:
        key, module = current_test
    elif os.environ.get("PYTEST_CURRENT_TEST"):
        nodeid = os.environ["PYTEST_CURRENT_TEST"].rsplit(" ", 1)[0]
        file_part, _, key = nodeid.partition("::")
        module = Path(file_part).resolve()
    else:  # plain script: the calling function beside its module
        frame: Any = sys._getframe(2)
        while frame is not None and _is_internal(frame.f_code.co_filename):
            frame = frame.f_back
        if frame is None:
            raise ImproperlyConfiguredError("perf_record(): cannot tell which test is running.")
        key, module = frame.f_code.co_name, Path(frame.f_code.co_filename)
    if name:
        key = f"{key}#{name}"
    return key, Path(path) if path is not None else record_path(module)


class PerfRecord(QueriesAndCacheBlock):
    """Captures queries and cache operations, then checks or writes the record."""

    def __init__(self, key: str, path: Path, mode: str) -> None:
        self.key = key
        self.path = path
        self.mode = mode

    def check(self) -> None:
        __tracebackhide__ = True
        queries, cache = self.logs("perf_record")
        new = recordfile.build(queries, cache)
        with recordfile.locked(self.path):
            data = recordfile.load(self.path)
            old = data.get(self.key)
            if old is None and self.mode == "none":
                raise PerfAssertionError(
                    f"No performance record {self.key!r} in {self.path} and the record mode is "
                    "'none'; run once with --perfkit-record-mode=once to create it."
                )
            if old is None or self.mode in ("all", "overwrite"):
                if old != new:
                    data[self.key] = new
                    recordfile.save(self.path, data)
                return
            lines, worse = recordfile.compare(old, new, queries, cache)
            if not lines:
                return
            if self.mode == "ratchet" and not worse:
                data[self.key] = new  # tighten: the code now does less
                recordfile.save(self.path, data)
                return
        what = "more than" if self.mode == "ratchet" else "differently from"
        raise PerfAssertionError(
            f"Performance record {self.key!r} ({self.path}): the code now performs {what} "
            "recorded:\n"
            + "\n".join(lines)
            + "\nIf this is intended, re-record with --perfkit-record-mode=overwrite (or "
            "PERFKIT['RECORD_MODE'] = 'overwrite')."
        )


def perf_record(
    name: str | None = None, *, path: str | Path | None = None, mode: str | None = None
) -> PerfRecord:
    """Compare the block's query and cache shapes with the test's record (see module doc)."""
    chosen = resolve_mode(mode)
    key, file = _identify(name, path)
    return PerfRecord(key, file, chosen)


def _live(key: str, live_keys: Iterable[str]) -> bool:
    return key.split("#", 1)[0] in set(live_keys)


def stale_keys(path: Path, live_keys: Iterable[str]) -> list[str]:
    """Keys of ``path`` whose test is not among ``live_keys`` (the tests of its module)."""
    live = set(live_keys)
    return sorted(k for k in recordfile.load(path) if not _live(k, live))


def prune_stale(path: Path, live_keys: Iterable[str]) -> list[str]:
    """Remove stale keys from ``path`` (under its lock); return what was removed."""
    live = set(live_keys)
    with recordfile.locked(path):
        data = recordfile.load(path)
        stale = sorted(k for k in data if not _live(k, live))
        if stale:
            recordfile.save(path, {k: v for k, v in data.items() if k not in stale})
    return stale
