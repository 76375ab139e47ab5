"""Celery tasks perfkit.warm, perfkit.warm_chunk, perfkit.warm_done and perfkit.refresh.

``perfkit.warm`` plans a warmer in the worker, fans its chunks out as a chord at the warmer's
priority and hands its own task id to the chord's callback, so the ``AsyncResult`` the caller
holds goes PENDING -> PROGRESS (``done``/``total``/``failed``) -> SUCCESS (the summary).
"""

from __future__ import annotations

import gc
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from celery import chord, shared_task
from celery.exceptions import Ignore
from django.db import close_old_connections

from perfkit.conf import perfkit_settings
from perfkit.warming import chunks as _chunks
from perfkit.warming.broker import broker_priority, queue_name
from perfkit.warming.encoding import decode_calls
from perfkit.warming.registry import Warmer, check_priority, get_warmer

__all__ = ["dispatch", "refresh", "warm_chunk", "warm_done", "warm_task"]

logger = logging.getLogger("perfkit.warming")
PROGRESS = "PROGRESS"
MAX_REPORTED_FAILURES = 200


def _counter(task_id: str, field: str) -> str:
    return f"{perfkit_settings.KEY_PREFIX}:warm:progress:{task_id}:{field}"


def _options(app: Any, warmer: Warmer, priority: int) -> dict[str, Any]:
    return {
        "queue": queue_name(app, warmer.queue),
        "priority": broker_priority(app, priority),
        "serializer": "json",
    }


def dispatch(
    app: Any,
    warmer: Warmer,
    *,
    priority: int,
    parent_id: str | None = None,
    before_send: Callable[[int], None] | None = None,
) -> int:
    """Plan ``warmer`` and send its chunks (a chord when ``parent_id`` is given).

    Raises ``WarmingArgumentError`` before sending anything if a planned value is not JSON.
    ``before_send(total)`` runs once the plan is known, before any chunk can finish.
    Returns the number of planned calls.
    """
    with _no_collections():
        return _dispatch(app, warmer, priority, parent_id, before_send)


@contextmanager
def _no_collections() -> Iterator[None]:
    """No cyclic garbage collection while a plan is built and sent.

    Planning allocates three containers per call, all alive until the chunks are sent, so
    the collector's passes over them (dozens per 10,000 calls, older generations among them,
    each walking the worker's whole heap) find nothing to free: they cost a tenth of a warm.
    Left as it was if it was already off; turned back on whatever happens.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _dispatch(
    app: Any,
    warmer: Warmer,
    priority: int,
    parent_id: str | None,
    before_send: Callable[[int], None] | None,
) -> int:
    encoded = list(warmer.encoded_chunks())
    total = sum(len(c) for c in encoded)
    options = _options(app, warmer, priority)
    limits = {
        "soft_time_limit": perfkit_settings.WARMING_SOFT_TIME_LIMIT,
        "time_limit": perfkit_settings.WARMING_TIME_LIMIT,
    }
    stashed = parent_id is not None and _stashes_chord_results(app)
    if stashed:
        # the chord's callback gets each chunk's outcome from the chord's own list: nothing
        # reads a chunk's result under its task id, so storing it (GET, SET, PUBLISH) is waste
        limits["ignore_result"] = True
    header = [
        app.signature(
            "perfkit.warm_chunk",
            kwargs={"name": warmer.name, "calls": calls, "parent": parent_id, "total": total},
            # Celery would build these with saferepr, walking every call of every chunk
            # (a third of the cost of sending a plan); logs and monitors get the gist
            argsrepr="()",
            kwargsrepr=_kwargsrepr(warmer.name, calls, parent_id, total),
            **options,
            **limits,
        )
        for calls in encoded
    ]
    if before_send is not None:
        before_send(total)
    if parent_id is None:
        with app.producer_or_acquire() as producer:
            for sig in header:
                sig.apply_async(producer=producer)
        return total
    if not header:
        return 0
    counters = {_counter(parent_id, "done"): 0, _counter(parent_id, "failed"): 0}
    try:
        _chunks.lock_cache(warmer.func).set_many(counters, _chunks.lock_ttl())
    except Exception:  # progress is best effort; the chunks retry if the cache is down
        logger.warning(
            "perfkit.warm %s: progress counters unavailable", warmer.name, exc_info=True
        )
    callback = app.signature(
        "perfkit.warm_done", kwargs={"name": warmer.name, "total": total}, **options
    ).set(task_id=parent_id)
    if stashed:
        _send_stashed_chord(app, header, callback)
    else:
        chord(header)(callback)
    return total


def _send_stashed_chord(app: Any, header: list[Any], callback: Any) -> None:
    """Send ``header`` as a chord calling ``callback``, on a Redis result backend.

    What ``chord(header)(callback)`` sends, without what it builds for the caller: a
    ``GroupResult`` that clones and freezes every signature and subscribes this process to
    every chunk's result channel (results nobody here waits for, that are not even stored:
    the subscriptions only pile up in the worker).  That was a third of the cost of sending
    a plan.  Each chunk carries the chord's group id, its index and the callback, and the
    Redis backend counts them in as ``chord`` does (its size is set before the first is sent).
    """
    group_id = str(uuid.uuid4())
    callback.freeze(callback.options["task_id"], group_id=group_id)
    app.backend.set_chord_size(group_id, len(header))
    with app.producer_or_acquire() as producer:
        for index, sig in enumerate(header):
            sig.apply_async(
                producer=producer,
                add_to_parent=False,
                chord=callback,
                group_id=group_id,
                group_index=index,
            )


def _kwargsrepr(name: str, calls: list[list[Any]], parent: str | None, total: int) -> str:
    shown = repr(calls[:3])
    if len(calls) > 3:
        shown = f"{shown[:-1]}, ... {len(calls)} calls]"
    if len(shown) > 400:
        shown = f"{shown[:380]} ... {len(calls)} calls]"
    return f"{{'name': {name!r}, 'calls': {shown}, 'parent': {parent!r}, 'total': {total}}}"


def _stashes_chord_results(app: Any) -> bool:
    """Does the result backend keep a chord's results in the chord itself (Redis)?

    Celery's Redis backend appends every header task's result to the chord's list and hands
    that list to the callback; the other backends join the header's stored results.
    """
    try:
        from celery.backends.redis import RedisBackend
    except ImportError:  # redis-py missing: not a Redis result backend either
        return False
    return isinstance(app.backend, RedisBackend)


@shared_task(name="perfkit.warm", bind=True, acks_late=True)
def warm_task(self: Any, name: str, priority: int | None = None) -> dict[str, Any]:
    """Plan warmer ``name`` and fan its chunks out; the chord's callback stores the summary."""
    warmer = get_warmer(name)
    level = warmer.priority if priority is None else check_priority(priority, where=name)
    if self.request.is_eager:
        from perfkit.warming.sync import warm_sync

        return warm_sync(warmer)

    def started(total: int) -> None:
        # before the chord is sent: a fast chord must not be overwritten by this PROGRESS
        if total:
            self.update_state(state=PROGRESS, meta={"done": 0, "total": total, "failed": 0})

    if not dispatch(
        self.app, warmer, priority=level, parent_id=self.request.id, before_send=started
    ):
        return summarize(name, 0, [])
    # the chord's callback carries this task's id and stores the final result under it
    raise Ignore()


@shared_task(
    name="perfkit.warm_chunk",
    bind=True,
    acks_late=True,
    max_retries=_chunks.MAX_RETRIES,
)
def warm_chunk(
    self: Any,
    name: str,
    calls: list[list[Any]],
    parent: str | None = None,
    total: int = 0,
    carried: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Warm one chunk of calls; skip it if the same chunk is already running elsewhere."""
    carried = carried or {"stored": 0, "failed": []}
    warmer = get_warmer(name)
    cache = _chunks.lock_cache(warmer.func)
    key = carried.get("lock") or _chunks.chunk_lock_key(name, calls)
    token = str(self.request.id)
    ttl = _chunks.lock_ttl()
    # on a plain django-redis cache the lock is taken with the generations' read (one round
    # trip fewer); elsewhere first, through the cache API
    with_read = _chunks.takes_lock_with_read(warmer.func, cache)
    if not with_read:
        try:
            acquired = _chunks.acquire(cache, key, token, ttl)
        except Exception:  # no lock without the cache; the chunk itself retries if it is down
            logger.warning("perfkit.warm_chunk %s: dedup lock unavailable", name, exc_info=True)
            acquired = True
        if not acquired:
            return _skipped(self, cache, name, parent, calls, total)
    _, soft = self.request.timelimit or (None, None)
    started = time.monotonic()
    try:
        close_old_connections()
        outcome = _chunks.run_chunk(
            warmer, calls, soft_limit=soft, lock=(key, token, ttl) if with_read else None
        )
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        retry = calls if _chunks.is_transient(reason) else []
        failed = [] if retry else [[a, k, reason] for a, k in calls]
        outcome = _chunks.ChunkOutcome(failed=failed, retry=retry, retry_reason=reason)
    if outcome.busy:
        return _skipped(self, cache, name, parent, calls, total)
    stored = carried["stored"] + outcome.stored
    failed = carried["failed"] + outcome.failed
    if outcome.retry and self.request.retries < self.max_retries:
        raise self.retry(
            kwargs={
                "name": name,
                "calls": outcome.retry,
                "parent": parent,
                "total": total,
                "carried": {"stored": stored, "failed": failed, "lock": key},
            },
            countdown=_chunks.backoff(self.request.retries),
        )
    last = outcome.retry_reason or "transient error"
    failed += [[a, k, f"{last} (after {self.max_retries} retries)"] for a, k in outcome.retry]
    _release_and_report(self, cache, name, key, token, parent, stored + len(failed), failed, total)
    return {
        "stored": stored,
        "failed": failed,
        "skipped": 0,
        "seconds": round(time.monotonic() - started, 6),
    }


def _skipped(
    task: Any, cache: Any, name: str, parent: str | None, calls: list[list[Any]], total: int
) -> dict[str, Any]:
    logger.info("perfkit.warm_chunk %s: skipped, the same chunk is running", name)
    if parent:
        _report_progress(task, cache, parent, len(calls), 0, total)
    return {"stored": 0, "failed": [], "skipped": len(calls), "seconds": 0.0}


def _release_and_report(
    task: Any,
    cache: Any,
    name: str,
    key: str,
    token: str,
    parent: str | None,
    done: int,
    failed: list[list[Any]],
    total: int,
) -> None:
    """Release the chunk's lock and count it in its warm's progress (one round trip on a plain
    django-redis cache)."""
    counters = (_counter(parent, "done"), _counter(parent, "failed")) if parent else None
    try:
        counted = _chunks.release_and_count(cache, key, token, counters, done, len(failed))
    except Exception:  # the lock expires by itself; progress is best effort
        logger.warning("perfkit.warm_chunk %s: could not release its lock", name, exc_info=True)
        return
    if counted is None:  # another cache: through its API
        try:
            _chunks.release(cache, key, token)
        except Exception:  # the lock expires by itself
            logger.warning(
                "perfkit.warm_chunk %s: could not release its lock", name, exc_info=True
            )
        if parent:
            _report_progress(task, cache, parent, done, len(failed), total)
        return
    if parent:
        done_now, failed_now = counted
        if done_now < 0 or failed_now < 0:  # counters expired: report this chunk's own numbers
            done_now, failed_now = done, len(failed)
        if _progress_due(parent, done_now, total):
            _store_progress(task, parent, done_now, failed_now, total)


# PROGRESS is stored at most this often per warm and worker process (a progress bar redraws a
# few times a second; a state write per chunk cost a tenth of a fast warm's time)
PROGRESS_INTERVAL = 0.25
_last_progress: dict[str, float] = {}


def _progress_due(parent: str, done: int, total: int) -> bool:
    """Store PROGRESS now? The first chunk this process reports, then every interval."""
    now = time.monotonic()
    last = _last_progress.get(parent)
    if last is not None and now - last < PROGRESS_INTERVAL and done < total:
        return False
    if len(_last_progress) > 1000:  # warms that ended long ago
        _last_progress.clear()
    _last_progress[parent] = now
    return True


def _report_progress(
    task: Any, cache: Any, parent: str, done: int, failed: int, total: int
) -> None:
    # the counters count every chunk; the PROGRESS state they feed is written when due
    try:
        done_now = cache.incr(_counter(parent, "done"), done)
        failed_now = cache.incr(_counter(parent, "failed"), failed) if failed else None
        if not _progress_due(parent, done_now, total):
            return
        if failed_now is None:
            failed_now = cache.get(_counter(parent, "failed"), 0)
    except ValueError:  # counters expired or evicted: report this chunk's own numbers
        done_now, failed_now = done, failed
    except Exception:  # progress is best effort: the chunk's result still counts
        logger.warning("perfkit.warm_chunk: progress counters unavailable", exc_info=True)
        return
    _store_progress(task, parent, done_now, failed_now, total)


def _store_progress(task: Any, parent: str, done: int, failed: int, total: int) -> None:
    meta = {"done": done, "total": total, "failed": failed}
    try:
        task.update_state(task_id=parent, state=PROGRESS, meta=meta)
    except Exception:
        logger.warning("perfkit.warm_chunk: could not store PROGRESS", exc_info=True)


def summarize(name: str, total: int, results: list[dict[str, Any]]) -> dict[str, Any]:
    """The final result of a warm, from its chunks' outcomes."""
    failed = [f for r in results for f in r["failed"]]
    return {
        "warmer": name,
        "total": total,
        "stored": sum(r["stored"] for r in results),
        "skipped": sum(r.get("skipped", 0) for r in results),
        "failed_count": len(failed),
        "failed": failed[:MAX_REPORTED_FAILURES],
        "chunks": len(results),
        "seconds": round(sum(r["seconds"] for r in results), 6),
    }


@shared_task(name="perfkit.warm_done", bind=True, acks_late=True)
def warm_done(self: Any, results: list[dict[str, Any]], name: str, total: int) -> dict[str, Any]:
    """Sum the chunks' outcomes into the warm's final result."""
    summary = summarize(name, total, results)
    try:
        cache = _chunks.lock_cache(get_warmer(name).func)
        cache.delete_many([_counter(self.request.id, "done"), _counter(self.request.id, "failed")])
    except Exception:  # cleaning counters is best effort; they expire anyway
        logger.debug("perfkit.warm_done: could not delete progress counters", exc_info=True)
    return summary


@shared_task(name="perfkit.refresh", bind=True, acks_late=True)
def refresh(self: Any, name: str, args: list[Any], kwargs: dict[str, Any], lock: str) -> bool:
    """Recompute one cached entry of the ``@cached`` function ``name``; release its lock."""
    from perfkit.warming.refresh import cached_function, release_refresh_lock

    func = cached_function(name)
    calls, _missing = decode_calls([[args, kwargs]])
    if not calls:
        release_refresh_lock(func, lock)
        logger.info("perfkit.refresh %s: dropped, an instance it needs no longer exists", name)
        return False
    (call_args, call_kwargs) = calls[0]
    try:
        func.refresh(*call_args, **call_kwargs)
    finally:
        release_refresh_lock(func, lock)
    return True
