"""Running one chunk of a warmer: decode, compute, store with one ``set_many``.

Kept free of Celery so ``perfkit_warm --sync`` and the tasks share it.
"""

from __future__ import annotations

import hashlib
import json
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import BaseCache, caches

from perfkit.cache import warm as cache_warm
from perfkit.cache.warm import direct_django_redis, redis_command
from perfkit.cache.wrapper import Engine
from perfkit.conf import perfkit_settings
from perfkit.internals.caches import delete_if_equal
from perfkit.warming.encoding import Call, decode_calls
from perfkit.warming.registry import Warmer, per_second

__all__ = ["ChunkOutcome", "chunk_lock_key", "lock_cache", "lock_ttl", "run_chunk"]

MAX_RETRIES = 3
BACKOFF_BASE = 1.0
BACKOFF_MAX = 60.0
# failures worth another try: the cache or the database was briefly unreachable
TRANSIENT = (
    "CacheUnavailable",
    "ConnectionError",
    "ConnectionInterrupted",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "BrokenPipeError",
    "TimeoutError",
    "OperationalError",
    "InterfaceError",
)


@dataclass
class ChunkOutcome:
    """What ``run_chunk`` did with one chunk; every list holds JSON-ready values."""

    stored: int = 0
    # [args, kwargs, reason] of each call that failed for good
    failed: list[list[Any]] = field(default_factory=list)
    # encoded [args, kwargs] of the calls that failed transiently: worth another try
    retry: list[list[Any]] = field(default_factory=list)
    # the reason of the last transient failure, for the message once retries run out
    retry_reason: str = ""
    seconds: float = 0.0
    # run_chunk(lock=...) found the chunk's lock held by another task: nothing was computed
    busy: bool = False


def backoff(retries: int) -> float:
    """Seconds to wait before retry number ``retries + 1`` (exponential, capped)."""
    return min(BACKOFF_MAX, BACKOFF_BASE * 2.0**retries)


def lock_ttl() -> int:
    """TTL of a chunk's dedup lock: every attempt's time limit plus the waits between them.

    Long enough that a redelivered or retried chunk is still recognised as running, and much
    shorter than any sensible schedule interval, so a lost lock never skips the next run.
    """
    limit = float(perfkit_settings.WARMING_TIME_LIMIT)
    waits = sum(backoff(n) for n in range(MAX_RETRIES))
    return int(limit * (MAX_RETRIES + 1) + waits) + 1


def lock_cache(func: Any) -> BaseCache:
    """The cache holding ``func``'s entries (where its locks and counters belong too)."""
    cache = getattr(func, "cache", None)
    if isinstance(cache, BaseCache):
        return cache
    alias = getattr(func, "cache_alias", None) or perfkit_settings.CACHE_ALIAS
    return caches[alias]


def chunk_lock_key(name: str, calls: list[list[Any]]) -> str:
    digest = hashlib.sha1(
        json.dumps(calls, sort_keys=True, separators=(",", ":")).encode(), usedforsecurity=False
    ).hexdigest()[:20]
    return f"{perfkit_settings.KEY_PREFIX}:warm:lock:{name}:{digest}"


def _int_token(token: str) -> int:
    # the lock holds an int: Redis backends store it as plain digits, which the atomic
    # compare-and-delete (perfkit.internals.caches.delete_if_equal) compares
    return int(hashlib.blake2b(token.encode(), digest_size=7).hexdigest(), 16)


def acquire(cache: BaseCache, key: str, token: str, ttl: int) -> bool:
    """Take the lock, or find it already ours (a retry or redelivery of the same task)."""
    value = _int_token(token)
    client = direct_django_redis(cache)
    if client is not None:
        # what cache.add() sends (django-redis stores an int as its digits), minus its layers
        redis, made = client.get_client(write=True), client.make_key(key)
        return bool(redis.set(made, value, nx=True, ex=ttl)) or redis.get(made) == b"%d" % value
    return bool(cache.add(key, value, ttl)) or cache.get(key) == value


def release(cache: BaseCache, key: str, token: str) -> bool:
    """Release the lock if it still holds ``token`` (atomic: never another task's lock)."""
    return delete_if_equal(cache, key, _int_token(token))


# KEYS: the lock, then (optionally) the done and failed counters of the warm.
# ARGV: our token, what to add to done, to failed.  The lock goes only if it holds our token;
# a counter that expired is not recreated (it would never expire again).
_RELEASE_AND_COUNT = """
if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) end
if #KEYS < 3 then return {} end
local counts = {}
for i = 2, 3 do
  if redis.call('exists', KEYS[i]) == 1 then
    counts[i - 1] = redis.call('incrby', KEYS[i], ARGV[i])
  else
    counts[i - 1] = -1
  end
end
return counts
"""
_RELEASE_AND_COUNT_SHA = hashlib.sha1(_RELEASE_AND_COUNT.encode(), usedforsecurity=False)


def release_and_count(
    cache: BaseCache,
    key: str,
    token: str,
    counters: tuple[str, str] | None,
    done: int,
    failed: int,
) -> tuple[int, int] | None:
    """Release the lock and add ``done``/``failed`` to a warm's counters, in ONE round trip
    where the cache is a plain django-redis one (else None: do it with ``release`` and the
    cache API).

    Returns the counters' new values, -1 for a counter that expired ((-1, -1) without
    counters).  Raises what Redis raises.
    """
    client = direct_django_redis(cache)
    if client is None:
        return None
    from redis.exceptions import NoScriptError  # django-redis is there, so is redis-py

    encode = client.get_client(write=True).connection_pool.get_encoder().encode
    keys = [key, *counters] if counters is not None else [key]
    args = [
        b"%d" % len(keys),
        *(encode(client.make_key(k)) for k in keys),
        b"%d" % _int_token(token),
        b"%d" % done,
        b"%d" % failed,
    ]
    sha = _RELEASE_AND_COUNT_SHA.hexdigest().encode()
    try:
        (counts,) = cache_warm.redis_round_trip(client, [redis_command(b"EVALSHA", sha, *args)])
    except NoScriptError:  # not in the server's script cache (yet, or any more): EVAL loads it
        script = _RELEASE_AND_COUNT.encode()
        (counts,) = cache_warm.redis_round_trip(client, [redis_command(b"EVAL", script, *args)])
    return (int(counts[0]), int(counts[1])) if counters is not None else (-1, -1)


class ChunkTimeLimit(BaseException):
    """Raised at a chunk's soft time limit.

    A BaseException on purpose: ``warm_many`` records an ``Exception`` raised by one call and
    goes on with the next, which would let the chunk run on until the hard limit kills the
    worker process.  This one escapes it, so the chunk stops.
    """


@contextmanager
def soft_limit_stops_chunk() -> Iterator[None]:
    """In a prefork child, turn the soft-time-limit signal into ``ChunkTimeLimit``."""
    sig = getattr(signal, "SIGUSR1", None)
    if sig is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise ChunkTimeLimit()

    previous = signal.signal(sig, stop)
    try:
        yield
    finally:
        signal.signal(sig, previous)


def takes_lock_with_read(func: Any, cache: BaseCache) -> bool:
    """Can ``run_chunk(lock=...)`` take the chunk's lock in the round trip that reads the
    generations (a perfkit-cached function on a plain django-redis cache)?"""
    return isinstance(func, Engine) and direct_django_redis(cache) is not None


def _warm(
    func: Any, calls: list[Call], lock: tuple[str, int, int] | None = None
) -> tuple[int, list[tuple[Any, Any, str]]]:
    if lock is not None:
        result = cache_warm.warm_many(func, calls, lock=lock)
        return int(result.stored), list(result.failed)
    warm_many = getattr(func, "warm_many", None)
    if warm_many is not None:
        result = warm_many(calls)
        return int(result.stored), list(result.failed)
    # fallback for cached functions without warm_many: one refresh (one set) per call
    stored, failed = 0, list[tuple[Any, Any, str]]()
    for args, kwargs in calls:
        try:
            func.refresh(*args, **kwargs)
            stored += 1
        except Exception as exc:
            failed.append((args, kwargs, f"{type(exc).__name__}: {exc}"))
    return stored, failed


def is_transient(reason: str) -> bool:
    return reason.split(":", 1)[0].strip() in TRANSIENT


def run_chunk(
    warmer: Warmer,
    encoded: list[list[Any]],
    *,
    soft_limit: float | None = None,
    lock: tuple[str, str, int] | None = None,
) -> ChunkOutcome:
    """Warm one chunk; failures are collected per call, never raised.

    ``lock``, ``(key, token, ttl)``: take the chunk's lock with the generations' read (see
    ``takes_lock_with_read``); the outcome is ``busy`` if another task holds it.  See
    ``ChunkOutcome`` for what it returns.
    """
    started = time.monotonic()
    calls, missing = decode_calls(encoded)
    failed: list[list[Any]] = [[a, k, r] for a, k, r in missing]
    missing_ids = {id(args) for args, _kw, _r in missing}
    encoded_ok = [c for c in encoded if id(c[0]) not in missing_ids]
    try:
        with soft_limit_stops_chunk():
            stored, failures = _warm(
                warmer.func, calls, (lock[0], _int_token(lock[1]), lock[2]) if lock else None
            )
    except cache_warm.LockHeld:
        return ChunkOutcome(busy=True, seconds=_since(started))
    except ChunkTimeLimit as stop:
        limit = (
            "SoftTimeLimitExceeded: the chunk stopped at its soft time limit "
            f"({soft_limit or 0:g} s)"
        )
        partial = getattr(stop, "perfkit_warm_result", None)
        unfinished = getattr(stop, "perfkit_unfinished", None)
        if partial is None or unfinished is None:  # a wrapper without warm_many
            reason = f"{limit} and stored nothing; use a smaller chunk_size"
            failed += [[a, k, reason] for a, k in encoded_ok]
            return ChunkOutcome(failed=failed, seconds=_since(started))
        # warm_many stored what it had computed; the calls it had not finished fail
        reason = f"{limit} before this call finished; use a smaller chunk_size"
        stored = int(partial.stored)
        failures = [*partial.failed, *((a, k, reason) for a, k in unfinished)]
    retry: list[list[Any]] = []
    retry_reason = ""
    used: set[int] = set()
    for args, kwargs, reason in failures:
        index = _find(calls, used, tuple(args), dict(kwargs))
        original = encoded_ok[index] if index is not None else [list(args), dict(kwargs)]
        if is_transient(reason):
            retry.append(original)
            retry_reason = reason
        else:
            failed.append([original[0], original[1], reason])
    rate = per_second(warmer.rate_limit)
    if rate and calls:
        # pace between chunks: this worker stays under the warmer's rate
        time.sleep(max(0.0, len(calls) / rate - (time.monotonic() - started)))
    return ChunkOutcome(
        stored=stored,
        failed=failed,
        retry=retry,
        retry_reason=retry_reason,
        seconds=_since(started),
    )


def _since(started: float) -> float:
    return round(time.monotonic() - started, 6)


def _find(
    calls: list[Call], used: set[int], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> int | None:
    # warm_many reports failures in call order; match them back to their encoded form
    for index, call in enumerate(calls):
        if index not in used and call == (args, kwargs):
            used.add(index)
            return index
    return None
