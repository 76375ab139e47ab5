"""Stampede protection: a single-flight lock per key, a bounded wait, background refresh.

On a miss the caller that wins ``cache.add(<key>:lock, <token>)`` computes and stores; the
others wait with short sleeps (up to ``PERFKIT["LOCK_WAIT"]`` seconds) for its result, then
compute themselves.  The lock expires after ``LOCK_TIMEOUT`` seconds, so a crashed holder does
not block the key; its release deletes the lock only while it still holds the holder's random
token (an atomic compare-and-delete, see perfkit.internals.caches.delete_if_equal), so a late
holder never deletes the lock of the caller that took it after expiry.
A caller that finds a servable stale (or XFetch-early) value and wins the lock hands the refresh
off (``hand_off``): to the refresher installed with ``set_background_refresher`` (perfkit.warming
installs Celery's), else to the in-process threads of perfkit.cache.background
(``PERFKIT["REFRESH_THREADS"]``); only when neither takes it does it refresh in its request.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

from perfkit.cache import background, clock, envelope
from perfkit.cache.store import Store
from perfkit.conf import perfkit_settings
from perfkit.internals.caches import delete_if_equal

__all__ = [
    "acquire",
    "background_refresh",
    "can_hand_off",
    "hand_off",
    "keep_servable",
    "release",
    "set_background_refresher",
    "wait",
]

logger = logging.getLogger("perfkit.cache")

BackgroundRefresher = Callable[[Any, tuple[Any, ...], dict[str, Any]], bool]
_refresher: list[BackgroundRefresher | None] = [None]


def set_background_refresher(func: BackgroundRefresher | None) -> None:
    """Install ``func(wrapper, args, kwargs) -> bool`` to refresh stale entries elsewhere.

    True means a refresh was enqueued (the caller serves the stale value); False or an
    exception means the caller refreshes in-process, single-flight.  None uninstalls it.
    """
    if func is not None and not callable(func):
        raise TypeError(
            f"set_background_refresher() takes a callable (wrapper, args, kwargs) -> bool or "
            f"None, not {func!r}."
        )
    _refresher[0] = func


def background_refresh(wrapper: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Ask the installed refresher to refresh this call; False when none took it."""
    func = _refresher[0]
    if func is None:
        return False
    try:
        return bool(func(wrapper, args, kwargs))
    except Exception:
        logger.warning(
            "perfkit.cache: the background refresher failed for %s; refreshing in-process",
            getattr(wrapper, "perfkit_name", wrapper),
            exc_info=True,
        )
        return False


def can_hand_off(wrapper: Any) -> bool:
    """Is a refresher there to take ``wrapper``'s refreshes off the request?

    Never for ``@cached_view`` (its engine says ``hands_off = False``): its refresh renders the
    view, whose response is checked and stored by the view wrapper, for the request under way.
    """
    if not wrapper.hands_off:
        return False
    return _refresher[0] is not None or background.threads_setting() > 0


def hand_off(
    wrapper: Any,
    store: Store,
    key: str,
    gkeys: tuple[str, ...],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    decision: Any,
) -> bool:
    """Have this refresh run outside the request; True when taken (serve the cached value).

    ``decision`` is the caller's "refresh" decision: its generation tokens (read before the
    refresh computes) and its lock token.  The installed refresher (Celery) is asked first: it
    dedups its queue with a lock of its own, so the single-flight lock goes at once (held until
    a worker stores, a write meanwhile would make the next caller wait for a queue).  The
    in-process threads keep the lock until they stored, then release it by token.  False: the
    caller refreshes in its request, still holding the lock.
    """
    if not wrapper.hands_off:  # @cached_view: see can_hand_off
        return False
    try:
        if background_refresh(wrapper, args, kwargs):
            release(store, key, decision.locked)
            return True
        job = background.job(wrapper, args, kwargs, store.alias, key, gkeys, decision)
        taken = background.submit(job)
    except BaseException:  # a bad REFRESH_THREADS: no refresh, so no lock either
        release(store, key, decision.locked)
        raise
    if taken == background.PENDING:  # this process refreshes the key already
        release(store, key, decision.locked)
    return taken is not None


def keep_servable(
    wrapper: Any, store: Store, key: str, entry: envelope.Envelope, now: float
) -> None:
    """A stale value handed off near the end of its ``stale`` window stays servable meanwhile.

    Without this, a refresh still running when ``soft + stale`` passes would turn every caller
    into a miss waiting for it.  The entry is stored again unchanged (value, generation tokens,
    computed_at) but stale from ``now``: it restarts its window, is still never served as fresh,
    and a write still makes it unservable.  Called by the lock holder before it hands the
    refresh off, so no in-process refresh of this key can have stored meanwhile (a Celery
    refresh queued earlier might: the fresh value is then overwritten by this stale one, and
    refreshed once more).
    """
    stale = wrapper.stale or 0
    if not stale or entry.soft + stale - now >= max(1.0, 2 * entry.compute_time):
        return
    kept: Any = envelope.pack(
        entry.value, entry.tokens, entry.computed_at, entry.compute_time, now
    )
    if wrapper._resolved.json:
        kept = envelope.envelope_to_json(kept, f"@cached {wrapper.perfkit_name}")
    store.set_many({key: kept}, timeout=stale)


def lock_key(key: str) -> str:
    return key + ":lock"


def new_token() -> int:
    """A random lock token (an int: Redis backends store it as plain digits)."""
    return secrets.randbits(62) + 1


def acquire(store: Store, key: str) -> int | None:
    """Take the single-flight lock of ``key``: its token, or None when another caller holds it."""
    token = new_token()
    if store.add(lock_key(key), token, timeout=perfkit_settings.LOCK_TIMEOUT):
        return token
    return None


def release(store: Store, key: str, token: int) -> bool:
    """Release the lock of ``key`` if it still holds ``token``; True if it did."""
    return delete_if_equal(store.backend, lock_key(key), token)


def wait(
    store: Store, key: str, keys: tuple[str, ...], usable: Callable[[dict[str, Any]], bool]
) -> dict[str, Any] | None:
    """Wait for the lock holder's result: the read that ``usable`` accepts, or None.

    None after ``LOCK_WAIT`` seconds, or as soon as the lock is gone without a usable entry
    (the holder failed): the caller then computes itself.
    """
    now = clock.current()
    deadline = now.monotonic() + perfkit_settings.LOCK_WAIT
    delay = 0.005
    lock = lock_key(key)
    wanted = [key, lock, *keys]
    while True:
        remaining = deadline - now.monotonic()
        if remaining <= 0:
            return None
        now.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.05)
        found = store.get_many(wanted)
        if usable(found):
            return found
        if lock not in found:
            return None
