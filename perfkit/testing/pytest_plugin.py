"""perfkit's pytest plugin, registered through the ``pytest11`` entry point (no conftest needed).

Fixtures: ``perfkit_queries`` (a live capture over the test), ``assert_num_queries``,
``assert_max_queries``, ``perf_record``, ``perfkit_isolated_cache``.
Options: ``--perfkit-record-mode``,
``--perfkit-nplusone=off|warn|fail``, ``--perfkit-report[=N]``, ``--perfkit-report-json PATH``.
Django is imported only once a fixture or an enabled option needs it, so the plugin costs
nothing in projects that do not use it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any, cast

import pytest

__all__ = ["PerfkitNPlusOneWarning"]

_MODES = ("once", "none", "all", "overwrite", "ratchet")
_STATS = "perfkit"  # the user_properties entry that carries one test's figures


class PerfkitNPlusOneWarning(UserWarning):
    """``--perfkit-nplusone=warn`` found an N+1 in a test."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("perfkit", "django-perfkit")
    group.addoption(
        "--perfkit-record-mode",
        choices=_MODES,
        default=None,
        help="Mode of perf_record files (default: PERFKIT['RECORD_MODE'], else 'once').",
    )
    group.addoption(
        "--perfkit-nplusone",
        choices=("off", "warn", "fail"),
        default="off",
        help="Warn or fail every test in which an N+1 query pattern runs (default: off).",
    )
    group.addoption(
        "--perfkit-report",
        nargs="?",
        const=10,
        type=int,
        default=None,
        metavar="N",
        help="At the end, list the N tests with the most queries (default N: 10).",
    )
    group.addoption(
        "--perfkit-report-json",
        default=None,
        metavar="PATH",
        help="Write every test's query, duplicate and cache-miss counts to PATH as JSON.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "perfkit_allow_nplusone(*patterns): allow N+1 groups in this test (all, or those loading "
        "a relation like 'app.Model.field' / 'app.A*', or whose SQL fingerprint or location "
        "matches a regex).",
    )
    config.pluginmanager.register(_Session(config), "perfkit-session")


def _django_ready() -> bool:
    try:
        from django.apps import apps
        from django.conf import settings
    except ImportError:
        return False
    return bool(settings.configured) and apps.ready


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def perfkit_queries() -> Iterator[Any]:
    """A ``QueryLog`` capturing every query of the test from this fixture's setup on."""
    from perfkit.testing import capture_queries

    with capture_queries() as log:
        yield log


@pytest.fixture
def assert_num_queries() -> Callable[..., Any]:
    """``with assert_num_queries(3):`` - perfkit.testing.assert_num_queries."""
    from perfkit.testing import assert_num_queries as factory

    return factory


@pytest.fixture
def assert_max_queries() -> Callable[..., Any]:
    """``with assert_max_queries(3):`` - perfkit.testing.assert_max_queries."""
    from perfkit.testing import assert_max_queries as factory

    return factory


@pytest.fixture
def perfkit_isolated_cache() -> Iterator[str]:
    """Every cache alias in a private, empty key namespace for the test (yields its name)."""
    from perfkit.testing.isolation import isolated_cache

    with isolated_cache() as namespace:
        yield namespace


@pytest.fixture
def perf_record(perfkit_isolated_cache: str) -> Callable[..., Any]:
    """``with perf_record():`` compares the block with this test's entry in test_x.perf.yml.

    The whole test runs in a private cache namespace, so what it puts in the cache before the
    block is there inside it, and nothing from earlier tests or runs is.
    """
    from perfkit.testing import perf_record as factory

    return factory


# --- per-test hooks --------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, Any]:
    if _django_ready():
        from perfkit.testing import records

        key = item.nodeid.partition("::")[2]
        records.current_test = (key, Path(str(item.path)))
        records.reset_numbering()
        records.session_mode = item.config.getoption("perfkit_record_mode")
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, Any]:
    try:
        return (yield)
    finally:
        if _django_ready():
            from perfkit.testing import records

            records.current_test = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, Any]:
    __tracebackhide__ = True
    config = item.config
    nplusone = config.getoption("perfkit_nplusone")
    report = config.getoption("perfkit_report") is not None or config.getoption(
        "perfkit_report_json"
    )
    if (nplusone == "off" and not report) or not _django_ready():
        return (yield)
    from perfkit.testing import capture_cache, capture_queries

    with capture_queries() as log, capture_cache() as cache:
        try:
            result = yield
        finally:  # a failing test still counts in the report
            if report:
                item.user_properties.append((_STATS, _figures(log, cache)))
    if nplusone != "off":
        _check_nplusone(item, log, nplusone)
    return result


def _figures(log: Any, cache: Any) -> dict[str, int]:
    return {
        "queries": log.count(),
        "duplicates": sum(g.count - 1 for g in log.duplicates()),
        "nplusone": len(log.nplusone()),
        "cache_misses": cache.misses,
    }


def _check_nplusone(item: pytest.Item, log: Any, mode: str) -> None:
    __tracebackhide__ = True
    from perfkit.instrument.allow import compile_rules
    from perfkit.instrument.checks import allow_patterns
    from perfkit.testing.messages import nplusone_lines

    allow = allow_patterns()
    marker = item.get_closest_marker("perfkit_allow_nplusone")
    if marker is not None:
        if not marker.args:
            return
        allow += compile_rules(marker.args)
    groups = [g for g in log.nplusone() if not any(rule.matches(g) for rule in allow)]
    if not groups:
        return
    message = (
        f"N+1 queries in {item.nodeid} ({len(groups)} group{'s' if len(groups) > 1 else ''}):\n"
        + "\n".join(nplusone_lines(groups))
        + "\nFix them (select_related / prefetch_related), or allow them with "
        "@pytest.mark.perfkit_allow_nplusone or PERFKIT['NPLUSONE_ALLOW']."
    )
    if mode == "warn":
        item.warn(PerfkitNPlusOneWarning(message))
        return
    from perfkit.exceptions import PerfAssertionError

    raise PerfAssertionError(message)


# --- session: report, stale records ----------------------------------------------------------


class _Session:
    """Per-session state (a plugin object, so nested pytester runs keep their own)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.stats: list[dict[str, Any]] = []
        self.collected: list[str] | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call":
            for name, value in report.user_properties:
                if name == _STATS:
                    self.stats.append({"test": report.nodeid, **cast(dict[str, Any], value)})

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if session.items:  # under xdist the controller collects nothing: see below
            self.collected = [item.nodeid for item in session.items]

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.collected = list(ids)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        config = self.config
        if hasattr(config, "workerinput"):
            return
        top = config.getoption("perfkit_report")
        if top is not None:
            from perfkit.testing.report import write_report

            write_report(terminalreporter, self.stats, top)
        path = config.getoption("perfkit_report_json")
        if path:
            rows = sorted(self.stats, key=lambda r: r["test"])
            Path(path).write_text(json.dumps({"tests": rows}, indent=2) + "\n", encoding="utf-8")
            terminalreporter.write_line(f"perfkit: wrote {len(rows)} tests to {path}")
        self._stale_records(terminalreporter)

    def _stale_records(self, terminalreporter: Any) -> None:
        config = self.config
        if not self.collected:
            return
        # a partial selection would make every unselected test look deleted
        if config.getoption("keyword") or config.getoption("markexpr"):
            return
        if any("::" in str(arg) for arg in config.args):
            return
        from perfkit.testing.report import stale_records

        stale_records(terminalreporter, config, self.collected)
