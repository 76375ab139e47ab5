"""End-of-session output of the pytest plugin: the top-N table and stale perf records."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger("perfkit.testing")

__all__ = ["stale_records", "write_report"]

_COLUMNS = ("queries", "duplicates", "nplusone", "cache_misses")


def write_report(terminal: Any, stats: list[dict[str, Any]], top: int) -> None:
    """``--perfkit-report=N``: the N tests with the most queries (then duplicates, misses)."""
    terminal.write_sep("=", f"perfkit: top {top} tests by queries")
    if not stats:
        terminal.write_line("no test ran a query")
        return
    ranked = sorted(
        stats, key=lambda r: (-r["queries"], -r["duplicates"], -r["cache_misses"], r["test"])
    )[:top]
    terminal.write_line(f"{'queries':>8} {'dupes':>6} {'n+1':>4} {'misses':>7}  test")
    for row in ranked:
        terminal.write_line(
            f"{row['queries']:>8} {row['duplicates']:>6} {row['nplusone']:>4} "
            f"{row['cache_misses']:>7}  {row['test']}"
        )


def _live_keys(collected: list[str], root: Path) -> dict[Path, set[str]]:
    modules: dict[Path, set[str]] = {}
    for nodeid in collected:
        file_part, _, key = nodeid.partition("::")
        if not key:
            continue
        keys = modules.setdefault(root / file_part, set())
        keys.add(key)
        keys.add(key.replace("::", "."))  # assertPerfRecord under unittest: Class.method
    return modules


def stale_records(terminal: Any, config: Any, collected: list[str]) -> None:
    """Report (or, in mode ``overwrite``, prune) records of tests that no longer exist."""
    from perfkit.testing import records

    mode = config.getoption("perfkit_record_mode")
    if mode is None:
        try:
            from perfkit.conf import perfkit_settings

            mode = perfkit_settings.RECORD_MODE
        except Exception as exc:  # settings unavailable: report only
            logger.debug("perfkit: RECORD_MODE unreadable (%s); stale records only listed", exc)
            mode = "once"
    lines: list[str] = []
    for module, live in sorted(_live_keys(collected, Path(config.rootpath)).items()):
        path = records.record_path(module)
        if not path.exists():
            continue
        if mode == "overwrite":
            pruned = records.prune_stale(path, live)
            lines += [f"pruned {path.relative_to(config.rootpath)}: {key}" for key in pruned]
        else:
            stale = records.stale_keys(path, live)
            lines += [f"stale {path.relative_to(config.rootpath)}: {key}" for key in stale]
    if lines:
        terminal.write_sep("=", "perfkit: performance records of tests that no longer exist")
        for line in lines:
            terminal.write_line(line)
        if mode != "overwrite":
            terminal.write_line("(prune them with --perfkit-record-mode=overwrite)")
