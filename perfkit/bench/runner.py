"""Run scenarios on each cache backend, cold and warm: queries, cache operations and timings.

Per scenario, backend and mode the runner makes one *captured* run (queries through
``perfkit.instrument.queries.capture_queries``, cache operations through ``capture_cache``,
perfkit's cache signals), then ``warmup`` untimed runs and ``repeat`` timed runs with nothing
captured, so the timings do not pay for the instrumentation.  *cold*: the cache is emptied
before every run; *warm*: it is filled by one run first and kept.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.test.utils import override_settings

from perfkit.bench.backends import BenchBackend, machine_facts
from perfkit.bench.capture import capture_run
from perfkit.bench.registry import Scenario
from perfkit.bench.stats import summarise
from perfkit.conf import perfkit_settings
from perfkit.exceptions import ImproperlyConfiguredError, PerfkitError

__all__ = ["MODES", "BenchResult", "BenchRunner", "Measurement", "ScenarioFailed"]

logger = logging.getLogger("perfkit.bench")

MODES = ("cold", "warm")
SCHEMA = "perfkit-bench/1"
# progress(event, message): event is "step" (one scenario/backend/mode starts), "skip" or "fail"
Progress = Callable[[str, str], None]


class ScenarioFailed(PerfkitError, RuntimeError):
    """A scenario raised or its page answered with an error status."""


@dataclass
class Measurement:
    """What one scenario cost on one backend in one mode."""

    scenario: str
    kind: str
    target: str
    tags: list[str]
    backend: str
    mode: str
    queries: dict[str, Any] = field(default_factory=dict)
    cache: dict[str, int] = field(default_factory=dict)
    perfkit: dict[str, int] = field(default_factory=dict)
    time_ms: dict[str, float] | None = None
    speedup: float | None = None
    error: str | None = None


@dataclass
class BenchResult:
    """Everything one perfkit_bench run measured, ready for ``report``."""

    measurements: list[Measurement]
    skipped: list[dict[str, str]]
    machine: dict[str, Any]
    options: dict[str, Any]
    backends: dict[str, dict[str, Any]]
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def as_dict(self) -> dict[str, Any]:
        """The JSON document (schema ``perfkit-bench/1``)."""
        from dataclasses import asdict

        return {
            "schema": SCHEMA,
            "created": self.created,
            "machine": self.machine,
            "options": self.options,
            "backends": self.backends,
            "skipped": self.skipped,
            "results": [asdict(m) for m in self.measurements],
        }


class BenchRunner:
    """Measures ``scenarios`` on ``backends`` in ``modes``."""

    def __init__(
        self,
        scenarios: Sequence[Scenario],
        *,
        backends: Sequence[BenchBackend],
        repeat: int | None = None,
        warmup: int | None = None,
        modes: Iterable[str] = MODES,
        progress: Progress | None = None,
    ) -> None:
        self.scenarios = list(scenarios)
        self.backends = list(backends)
        self.repeat = perfkit_settings.BENCH_REPEAT if repeat is None else repeat
        self.warmup = perfkit_settings.BENCH_WARMUP if warmup is None else warmup
        wanted = set(modes)
        if isinstance(self.repeat, bool) or not isinstance(self.repeat, int) or self.repeat < 1:
            raise ImproperlyConfiguredError(
                f"BenchRunner(repeat=...) must be a whole number >= 1, got {self.repeat!r}."
            )
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, int) or self.warmup < 0:
            raise ImproperlyConfiguredError(
                f"BenchRunner(warmup=...) must be a whole number >= 0, got {self.warmup!r}."
            )
        if not wanted or wanted - set(MODES):
            raise ImproperlyConfiguredError(
                f"BenchRunner(modes=...) must name 'cold' and/or 'warm', got {sorted(wanted)!r}."
            )
        self.modes = [m for m in MODES if m in wanted]
        self.progress = progress or (lambda event, message: None)

    @property
    def total_steps(self) -> int:
        """How many "step" events a run reports (scenarios x backends x modes)."""
        return len(self.scenarios) * len(self.backends) * len(self.modes)

    def run(self) -> BenchResult:
        """Run every scenario on every reachable backend; skip the others with a reason."""
        measurements: list[Measurement] = []
        skipped: list[dict[str, str]] = []
        facts: dict[str, dict[str, Any]] = {}
        with _quiet_test_client():
            for backend in self.backends:
                reason = backend.unavailable()
                if reason is not None:
                    skipped.append({"backend": backend.name, "reason": reason})
                    self.progress("skip", f"skipped {backend.name}: {reason}")
                    continue
                with override_settings(CACHES=_caches_with(backend)):
                    try:
                        backend.prepare()
                        facts[backend.name] = backend.facts()
                        for item in self.scenarios:
                            measurements.extend(self._measure_scenario(item, backend))
                    finally:
                        _clear_quietly(backend)
                        backend.teardown()
        return BenchResult(
            measurements=measurements,
            skipped=skipped,
            machine=machine_facts(),
            options={"repeat": self.repeat, "warmup": self.warmup, "modes": self.modes},
            backends=facts,
        )

    def _measure_scenario(self, item: Scenario, backend: BenchBackend) -> list[Measurement]:
        rows = []
        for mode in self.modes:
            self.progress("step", f"{item.name} on {backend.name} ({mode})")
            row = Measurement(
                scenario=item.name,
                kind=item.kind,
                target=item.label,
                tags=list(item.tags),
                backend=backend.name,
                mode=mode,
            )
            try:
                self._measure(item, backend, mode, row)
            except Exception as exc:
                row.error = f"{type(exc).__name__}: {exc}"
                self.progress(
                    "fail", f"{item.name} on {backend.name} ({mode}) failed: {row.error}"
                )
            rows.append(row)
        cold = next((r for r in rows if r.mode == "cold" and r.time_ms), None)
        warm = next((r for r in rows if r.mode == "warm" and r.time_ms), None)
        # a speed-up only where the warm run read from the cache: elsewhere cold and warm are
        # the same work, and their ratio would be noise dressed as a finding
        cached = warm is not None and (warm.cache.get("hits") or warm.perfkit.get("hits"))
        if cached and cold and warm and cold.time_ms and warm.time_ms and warm.time_ms["p50"] > 0:
            warm.speedup = round(cold.time_ms["p50"] / warm.time_ms["p50"], 2)
        return rows

    def _measure(self, item: Scenario, backend: BenchBackend, mode: str, row: Measurement) -> None:
        call = _callable_for(item)

        def before_run() -> None:
            if mode == "cold":
                backend.clear()
            if item.setup is not None:
                item.setup()

        backend.clear()
        if mode == "warm":
            before_run()
            call()  # fills the cache
        before_run()
        row.queries, row.cache, row.perfkit = capture_run(call, exclude_table=_table(backend))
        for _ in range(self.warmup):
            before_run()
            call()
        samples = []
        for _ in range(item.repeat or self.repeat):
            before_run()
            start = time.perf_counter()
            call()
            samples.append(time.perf_counter() - start)
        row.time_ms = summarise(samples)


def _table(backend: BenchBackend) -> str | None:
    return backend.config["LOCATION"] if backend.name == "db" else None


def _caches_with(backend: BenchBackend) -> dict[str, Any]:
    caches = dict(settings.CACHES)
    caches["default"] = backend.config
    # perfkit's decorators use PERFKIT["CACHE_ALIAS"] when cache= is not given
    caches[perfkit_settings.CACHE_ALIAS] = backend.config
    return caches


def _clear_quietly(backend: BenchBackend) -> None:
    try:
        backend.clear()
    except Exception as exc:  # the run is over: leftovers expire with their timeout
        logger.warning(
            "perfkit_bench: could not empty the %s cache after the run (%s: %s); its entries "
            "expire with their timeout.",
            backend.name,
            type(exc).__name__,
            exc,
        )


def _callable_for(item: Scenario) -> Callable[[], Any]:
    if not isinstance(item.target, str):
        if inspect.iscoroutinefunction(item.target):
            from asgiref.sync import async_to_sync

            return async_to_sync(item.target)  # each run is one event-loop round
        return item.target
    from django.test import Client

    path = item.target
    headers = {"X-Perfkit-Bench": "1", **item.headers}
    client = Client(headers=headers)
    if item.user:
        from django.contrib.auth import get_user_model

        model = get_user_model()
        try:
            user = model._default_manager.get_by_natural_key(item.user)
        except model.DoesNotExist:
            raise ScenarioFailed(
                f"scenario {item.name!r} logs in as {item.user!r}, but there is no such user. "
                f"Create it (e.g. in the scenario's setup=) or fix scenario(user=...)."
            ) from None
        client.force_login(user)

    def request() -> Any:
        response = client.get(path)
        if response.status_code >= 400:
            raise ScenarioFailed(f"GET {path} answered {response.status_code}")
        return response

    return request


@contextmanager
def _quiet_test_client() -> Any:
    """Let the test client in (ALLOWED_HOSTS) and keep the debug toolbar out of the timings."""
    with ExitStack() as stack:
        hosts = list(settings.ALLOWED_HOSTS)
        if "*" not in hosts and "testserver" not in hosts:
            stack.enter_context(override_settings(ALLOWED_HOSTS=[*hosts, "testserver"]))
        if "debug_toolbar" in settings.INSTALLED_APPS:
            config = dict(getattr(settings, "DEBUG_TOOLBAR_CONFIG", {}))
            config["SHOW_TOOLBAR_CALLBACK"] = _no_toolbar
            stack.enter_context(override_settings(DEBUG_TOOLBAR_CONFIG=config))
        yield


def _no_toolbar(request: Any) -> bool:
    return False
