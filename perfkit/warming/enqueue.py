"""``warm()``: send warmers to the workers (or run them here when Celery is eager)."""

from __future__ import annotations

from typing import Any

from perfkit.warming.registry import check_priority, discover, get_warmer, registry

__all__ = ["warm"]


def warm(
    name: str | None = None,
    *,
    wait: bool = False,
    priority: int | None = None,
    timeout: float | None = None,
) -> Any:
    """Enqueue warmer ``name`` (all warmers when None).

    Returns the ``AsyncResult`` of ``perfkit.warm`` (its state goes PROGRESS with ``done``,
    ``total`` and ``failed`` meta, then SUCCESS with the summary), or with ``wait=True`` the
    summary dict itself.  For all warmers, a dict name -> result.  ``priority`` (0-9, 9 most
    urgent) overrides the warmer's own.
    """
    from perfkit.warming.broker import broker_priority, get_app, queue_name

    if name is None:
        discover()
        return {n: warm(n, wait=wait, priority=priority, timeout=timeout) for n in list(registry)}
    warmer = get_warmer(name)
    level = warmer.priority if priority is None else check_priority(priority, where=name)
    app = get_app()
    result = app.signature(
        "perfkit.warm",
        kwargs={"name": name, "priority": level},
        queue=queue_name(app, warmer.queue),
        priority=broker_priority(app, level),
        serializer="json",
    ).apply_async()
    if wait:
        return result.get(timeout=timeout, disable_sync_subtasks=False)
    return result
