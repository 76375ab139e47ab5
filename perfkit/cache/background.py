"""The in-process background refresher: stale (and XFetch-early) refreshes off the request.

A caller that finds a servable stale value and wins the key's single-flight lock hands the
refresh to ``submit`` and returns the stale value at once; ``PERFKIT["REFRESH_THREADS"]``
daemon threads (default 1, started on first use) compute and store it.  The job keeps the
caller's lock token until its value is stored, then releases it with compare-and-delete, so no
other caller or process starts a second refresh of that key meanwhile, and a lock that expired
and was taken by someone else is left alone.

The queue is bounded (``QUEUE_SIZE``): when it is full, or ``REFRESH_THREADS`` is 0, ``submit``
returns False and the caller refreshes in its own request as before.  A key already queued or
running here is not queued twice.  A failing refresh keeps the stale value (its lock is
released, the failure goes through ``perfkit.cache.failures`` as op "refresh").  Each job closes
the database connections its thread opened.  After ``os.fork`` (prefork servers and workers) the
child starts its own threads.
"""

from __future__ import annotations

import contextvars
import logging
import os
import queue
import threading
import time
from typing import Any, NamedTuple

from django.db import close_old_connections, connections
from django.utils import timezone, translation

from perfkit.cache import failures
from perfkit.cache.store import get_store
from perfkit.conf import OPTIONS, perfkit_settings
from perfkit.exceptions import ImproperlyConfiguredError

__all__ = ["PENDING", "QUEUED", "QUEUE_SIZE", "Job", "drain", "job", "pending", "submit"]

logger = logging.getLogger("perfkit.cache")

# refreshes waiting for a thread; beyond this the request refreshes itself (a burst of
# distinct stale keys must not grow memory without bound)
QUEUE_SIZE = 1000


class Job(NamedTuple):
    """One refresh: what to compute, where to store it, the lock it holds."""

    wrapper: Any  # the @cached wrapper (perfkit.cache.wrapper.Engine)
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    alias: str
    key: str
    gkeys: tuple[str, ...]
    decision: Any  # a "refresh" Decision: generation tokens read before computing, lock token
    context: contextvars.Context  # the caller's contextvars (perfkit's isolated_cache)
    language: str | None  # the caller's active language and time zone (thread-locals)
    tzinfo: Any


def job(
    wrapper: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    alias: str,
    key: str,
    gkeys: tuple[str, ...],
    decision: Any,
) -> Job:
    """A ``Job`` that computes as the calling request would have: its context, language and
    time zone (Django keeps those two per thread)."""
    return Job(
        wrapper,
        args,
        kwargs,
        alias,
        key,
        gkeys,
        decision,
        contextvars.copy_context(),
        translation.get_language(),
        timezone.get_current_timezone(),
    )


class _State:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self.queue: queue.Queue[Job] = queue.Queue(QUEUE_SIZE)
        self.threads: list[threading.Thread] = []
        self.keys: set[tuple[str, str]] = set()  # (alias, key) queued or running
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)


_state = [_State()]


def _current() -> _State:
    state = _state[0]
    if state.pid != os.getpid():  # a forked child: the parent's threads do not exist here
        state = _state[0] = _State()
    return state


def threads_setting() -> int:
    """``PERFKIT["REFRESH_THREADS"]``, checked: 0 refreshes in the request."""
    value = perfkit_settings.REFRESH_THREADS
    option = OPTIONS["REFRESH_THREADS"]
    problem = (
        option.validate(value)
        if isinstance(value, int) and option.validate
        else "must be an integer from 0 to 64"
    )
    if problem:
        raise ImproperlyConfiguredError(
            f'PERFKIT["REFRESH_THREADS"] is {value!r}: it {problem} (the threads that refresh '
            "stale @cached values in the background; 0 refreshes them in the request)."
        )
    return int(value)


QUEUED, PENDING = "queued", "pending"


def submit(job: Job) -> str | None:
    """Queue ``job``: QUEUED (a thread will run it with the job's lock), PENDING (a refresh of
    its key is already queued or running here: the caller releases its own lock), or None
    (``REFRESH_THREADS`` is 0 or the queue is full: the caller refreshes in its request).
    """
    wanted = threads_setting()
    if wanted <= 0:
        return None
    state = _current()
    ident = (job.alias, job.key)
    with state.lock:
        if ident in state.keys:
            return PENDING
        try:
            state.queue.put_nowait(job)
        except queue.Full:
            return None
        state.keys.add(ident)
        state.threads = [t for t in state.threads if t.is_alive()]
        while len(state.threads) < wanted:
            thread = threading.Thread(
                target=_work, args=(state,), name="perfkit-refresh", daemon=True
            )
            thread.start()
            state.threads.append(thread)
    return QUEUED


def pending() -> int:
    """Refreshes queued or running in this process."""
    state = _current()
    with state.lock:
        return len(state.keys)


def drain(timeout: float = 30.0) -> bool:
    """Wait until no refresh is queued or running here; False if ``timeout`` passed first.

    For tests, management commands and shutdown hooks (the threads are daemons: a process that
    exits drops what is still queued).
    """
    state = _current()
    deadline = time.monotonic() + timeout
    with state.idle:
        while state.keys:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            state.idle.wait(remaining)
    return True


def _work(state: _State) -> None:
    while True:
        job = state.queue.get()
        try:
            # in a copy of the caller's context: the function sees what it would have seen in
            # the request (translation.override, timezone.override, perfkit's isolated_cache)
            job.context.run(_run_as_caller, job)
        except BaseException:  # never let a thread die: the next job still needs it
            logger.exception("perfkit.cache: the background refresh of %s failed", job.key)
        finally:
            with state.idle:
                state.keys.discard((job.alias, job.key))
                state.idle.notify_all()
            state.queue.task_done()


def _run_as_caller(job: Job) -> None:
    with translation.override(job.language), timezone.override(job.tzinfo):
        _run(job)


def _run(job: Job) -> None:
    wrapper, decision = job.wrapper, job.decision
    close_old_connections()
    try:
        store = get_store(job.alias)
        started = time.perf_counter()
        try:
            value = wrapper._compute_sync(job.args, job.kwargs)
        except Exception as exc:
            # the stale value stays served (until its window ends); the lock goes, and the
            # failure is reported like one in the request
            wrapper._refresh_failed(store, job.key, job.gkeys, decision, exc)
            return
        except BaseException as exc:  # SystemExit & co. from the function: the lock goes too
            wrapper._refresh_failed(store, job.key, job.gkeys, decision, exc)
            raise
        spent = time.perf_counter() - started
        wrapper._stats.refreshes += 1
        try:
            wrapper._store(store, job.key, job.gkeys, decision, value, spent, False)
        except Exception as exc:  # FAIL_MODE "closed" re-raises cache errors: no caller here
            failures.log_only(wrapper.perfkit_name, job.alias, exc, "set")
    finally:
        # this thread's connections (the function's queries, a database cache): a daemon
        # thread never sees request_finished, so nothing else would close them
        connections.close_all()
