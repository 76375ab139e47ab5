"""``PerfkitPanel`` for django-debug-toolbar: perfkit's cache calls and query groups per request.

Add ``"perfkit.contrib.debug_toolbar.PerfkitPanel"`` to ``DEBUG_TOOLBAR_PANELS``.  Per request
the panel lists every ``@cached``/``@cached_view`` call (hit, miss, stale, error) with its key,
dependencies and age or compute time, the invalidations the request triggered, and the
duplicate and N+1 query groups with the code locations that made them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from perfkit._optional import require

require("debug_toolbar", feature="perfkit.contrib.debug_toolbar")

from debug_toolbar.panels import Panel  # noqa: E402

__all__ = ["PerfkitPanel"]

_OUTCOMES = {
    "cache_hit": "hit",
    "cache_miss": "miss",
    "cache_stale": "stale",
    "cache_error": "error",
}


def _function_name(sender: Any) -> str:
    name = getattr(sender, "perfkit_name", None)
    if name:
        return str(name)
    module = getattr(sender, "__module__", None)
    qualname = getattr(sender, "__qualname__", None)
    return f"{module}.{qualname}" if module and qualname else repr(sender)


def _ms(seconds: Any) -> float | None:
    return round(float(seconds) * 1000, 3) if isinstance(seconds, int | float) else None


class _Recorder:
    """Collects perfkit's cache signals sent from one thread (the request's)."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.calls: list[dict[str, Any]] = []
        self.invalidations: list[dict[str, Any]] = []

    def on_call(self, signal_name: str, sender: Any, **kwargs: Any) -> None:
        if threading.get_ident() != self.thread:
            return
        error = kwargs.get("error")
        self.calls.append(
            {
                "function": _function_name(sender),
                "outcome": _OUTCOMES[signal_name],
                "key": str(kwargs.get("key", "")),
                "cache": str(kwargs.get("cache", "")),
                "dependencies": [str(d) for d in kwargs.get("dependencies") or ()],
                "age_ms": _ms(kwargs.get("age")),
                "compute_ms": _ms(kwargs.get("compute_time")),
                "error": f"{type(error).__name__}: {error}" if error is not None else "",
                "operation": str(kwargs.get("operation") or ""),
            }
        )

    def on_invalidated(self, sender: Any, **kwargs: Any) -> None:
        if threading.get_ident() != self.thread:
            return
        self.invalidations.append(
            {
                "targets": [str(t) for t in kwargs.get("targets") or ()],
                "keys": [str(k) for k in kwargs.get("keys") or ()],
            }
        )

    @contextmanager
    def listening(self) -> Iterator[_Recorder]:
        from perfkit import signals

        connected: list[tuple[Any, Callable[..., None]]] = []
        for name in _OUTCOMES:

            def receiver(sender: Any, _name: str = name, **kwargs: Any) -> None:
                self.on_call(_name, sender, **kwargs)

            getattr(signals, name).connect(receiver, weak=False)
            connected.append((getattr(signals, name), receiver))
        signals.cache_invalidated.connect(self.on_invalidated, weak=False)
        connected.append((signals.cache_invalidated, self.on_invalidated))
        try:
            yield self
        finally:
            for signal, receiver in connected:
                signal.disconnect(receiver)


class PerfkitPanel(Panel):
    """perfkit's view of one request: cached calls, invalidations, duplicate and N+1 queries."""

    title = "perfkit"
    nav_title = "perfkit"
    template = "perfkit/panel.html"

    def process_request(self, request: Any) -> Any:
        from perfkit.conf import perfkit_settings
        from perfkit.instrument.queries import capture_queries

        recorder = _Recorder()
        with capture_queries() as log, recorder.listening():
            response = super().process_request(request)
        self._recorder = recorder
        self._queries = _query_stats(log, perfkit_settings.NPLUSONE_THRESHOLD)
        return response

    def generate_stats(self, request: Any, response: Any) -> None:
        recorder = getattr(self, "_recorder", None)
        if recorder is None:  # the view never ran through this panel
            return
        counts = dict.fromkeys(_OUTCOMES.values(), 0)
        for call in recorder.calls:
            counts[call["outcome"]] += 1
        self.record_stats(
            {
                "calls": recorder.calls,
                "counts": counts,
                "invalidations": recorder.invalidations,
                **self._queries,
            }
        )

    @property
    def nav_subtitle(self) -> str:
        stats = self.get_stats()
        if not stats:
            return ""
        counts = stats["counts"]
        text = f"{counts['hit']} hit, {counts['miss']} miss"
        if counts["stale"]:
            text += f", {counts['stale']} stale"
        if stats["nplusone"]:
            text += f" · {len(stats['nplusone'])} N+1"
        return text


def _query_stats(log: Any, threshold: int) -> dict[str, Any]:
    from perfkit.instrument.groups import group_as_dict

    return {
        "query_count": log.count(),
        "duplicates": [group_as_dict(g, with_params=True) for g in log.duplicates()],
        "nplusone": [group_as_dict(g) for g in log.nplusone(threshold=threshold)],
    }
