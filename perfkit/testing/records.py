"""``perf_record()``: compare a block's query and cache-operation shapes with a YAML record.

The record lives beside the test module (``test_x.py`` -> ``test_x.perf.yml``), keyed by the
test id (the pytest node id without its file part, or ``Class.method`` under unittest), plus
``#name`` when ``name`` is given.  A second unnamed block in one test is ``<test id>.2``, the
third ``.3`` (as django-perf-rec numbers them), so blocks are never compared with each other.
The modes mean what django-perf-rec's do:

- ``once`` (default): write a missing record, compare an existing one.
- ``none``: compare only; a missing record fails.
- ``all``: compare an existing record; write a missing one *and fail*, so a CI run notices a
  test whose record was never committed.
- ``overwrite``: write every record, never fail; stale records (of tests that no longer
  exist) are pruned at the end of the pytest session.
- ``ratchet`` (perfkit's own): fail only when the block does *more* (new shapes, more queries
  of a shape, more cache operations or misses); when it does less, tighten the record.
"""

from __future__ import annotations

import os
import re
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
# unnamed blocks counted per test: the plugin resets it as each test starts
_numbering: dict[tuple[str, Path], int] = {}
_last_unnamed: list[tuple[str, Path]] = []  # outside pytest's hooks: the previous block's test
_NUMBERED = re.compile(r"\.\d+$")


def reset_numbering() -> None:
    """Start counting unnamed blocks afresh (a new test begins)."""
    _numbering.clear()
    _last_unnamed.clear()


def number_unnamed(key: str, file: Path, counts: dict[tuple[str, Path], int]) -> str:
    """``key`` for a test's first unnamed block, then ``key.2``, ``key.3``..."""
    count = counts[(key, file)] = counts.get((key, file), 0) + 1
    return key if count == 1 else f"{key}.{count}"


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
    hooked = current_test is not None
    if current_test is not None:
        key, module = current_test
    elif os.environ.get("PYTEST_CURRENT_TEST"):
        nodeid = os.environ["PYTEST_CURRENT_TEST"].rsplit(" ", 1)[0]
        file_part, _, key = nodeid.partition("::")
        module = Path(file_part).resolve()
    else:  # plain script: the calling function beside its module
        frame: Any = sys._getframe(1)
        while frame is not None and _is_internal(frame.f_code.co_filename):
            frame = frame.f_back
        if frame is None:
            raise ImproperlyConfiguredError("perf_record(): cannot tell which test is running.")
        key, module = frame.f_code.co_name, Path(frame.f_code.co_filename)
    file = Path(path) if path is not None else record_path(module)
    if name:
        return f"{key}#{name}", file
    if not hooked and _last_unnamed != [(key, file)]:
        reset_numbering()  # no plugin hook told us: a new test when the test id changes
        _last_unnamed.append((key, file))
    return number_unnamed(key, file, _numbering), file


class PerfRecord(QueriesAndCacheBlock):
    """Captures queries and cache operations, then checks or writes the record.

    With ``isolate_cache`` (the default) the block runs in a private, empty cache namespace
    (``perfkit.testing.isolation``) unless the test already has one, so its hits and misses
    do not depend on what earlier tests or runs left in the cache.
    """

    def __init__(self, key: str, path: Path, mode: str, *, isolate_cache: bool = True) -> None:
        self.key = key
        self.path = path
        self.mode = mode
        self.isolate_cache = isolate_cache
        self._isolation: Any = None
        self._pending: tuple[str | None, str | Path | None, str | None] | None = None

    @classmethod
    def for_running_test(
        cls,
        name: str | None,
        path: str | Path | None,
        mode: str | None,
        *,
        isolate_cache: bool = True,
    ) -> PerfRecord:
        """A record whose key, file and mode are found when the block is entered: a
        decorator is applied at import time, before pytest says which test runs."""
        record = cls("", Path(), "", isolate_cache=isolate_cache)
        record._pending = (name, path, mode)
        return record

    def open(self) -> Any:
        if self._pending is not None:
            name, path, mode = self._pending
            self.mode = resolve_mode(mode)
            self.key, self.path = _identify(name, path)
            self._pending = None
        if self.isolate_cache:
            from perfkit.testing.isolation import isolated_cache

            self._isolation = isolated_cache()
            self._isolation.__enter__()
        try:
            return super().open()
        except BaseException:
            self._leave_isolation()
            raise

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._leave_isolation()

    def _leave_isolation(self) -> None:
        isolation, self._isolation = self._isolation, None
        if isolation is not None:
            isolation.__exit__(None, None, None)

    def check(self) -> None:
        __tracebackhide__ = True
        queries, cache = self.logs("perf_record")
        new = recordfile.build(queries, cache)
        with recordfile.locked(self.path):
            data = recordfile.load(self.path)
            old = data.get(self.key)
            if old is None:
                if self.mode == "none":
                    raise PerfAssertionError(
                        f"No performance record {self.key!r} in {self.path} and the record "
                        "mode is 'none'; run once with --perfkit-record-mode=once to create it."
                    )
                data[self.key] = new
                recordfile.save(self.path, data)
                if self.mode == "all":
                    raise PerfAssertionError(
                        f"No performance record {self.key!r} in {self.path}: it was written "
                        "now, and the record mode 'all' fails on a missing record. Commit the "
                        "file; the next run compares with it."
                    )
                return
            if self.mode == "overwrite":
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
    name: str | None = None,
    *,
    path: str | Path | None = None,
    mode: str | None = None,
    isolate_cache: bool = True,
) -> PerfRecord:
    """Compare the block's query and cache shapes with the test's record (see module doc).

    ``isolate_cache=False`` runs the block against the cache as the test left it.
    """
    if mode is not None:
        resolve_mode(mode)  # a bad mode fails here, not when the block runs
    return PerfRecord.for_running_test(name, path, mode, isolate_cache=isolate_cache)


def _live(key: str, live_keys: set[str]) -> bool:
    test = key.split("#", 1)[0]
    return test in live_keys or _NUMBERED.sub("", test) in live_keys


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
