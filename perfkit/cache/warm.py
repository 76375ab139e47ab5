"""``wrapper.warm_many(calls)``: compute many calls, store them with ONE ``set_many``.

On a plain django-redis cache (the usual home of warmed entries) the store is one packed batch
of ``SET``s written straight to the backend's connection pool, and warming's chunk lock rides
along with the generations' read: the same keys, bytes-equivalent values and expiry as the
cache API would write, without the layers that made warming 0.4x a hand-written task.
Everywhere else, and whenever someone observes cache operations, the cache API is used.
"""

from __future__ import annotations

import pickle
import sys
import time
import weakref
from collections.abc import Iterable
from typing import Any

from django.conf import settings

from perfkit.cache import clock, envelope, failures, generations
from perfkit.cache.catalog import WarmResult
from perfkit.cache.fastredis import pickle_protocol
from perfkit.cache.store import get_store
from perfkit.instrument import observe
from perfkit.internals.caches import django_redis_options

__all__ = [
    "LockHeld",
    "direct_django_redis",
    "redis_command",
    "redis_round_trip",
    "warm_many",
]


def warm_many(
    wrapper: Any,
    calls: Iterable[tuple[tuple[Any, ...], dict[str, Any]]],
    *,
    lock: tuple[str, int, int] | None = None,
) -> WarmResult:
    """Compute each ``(args, kwargs)`` call of ``wrapper`` and store every result at once.

    Each call's generations are read before it is computed (one read for all calls), so a
    write landing meanwhile leaves the stored entry stale, as for an ordinary miss; and as for
    a miss nothing is stored within ``REPLICA_LAG`` of a write to one of them.  A call
    that raises is recorded in ``failed`` and does not stop the others.  A ``BaseException``
    (a time limit, a shutdown) stops the loop: what was computed is stored, and the exception
    carries ``perfkit_warm_result`` and ``perfkit_unfinished`` (the calls not done) on its way
    out.

    ``lock``, ``(key, token, ttl)`` with an int token: a lock taken (or found already holding
    ``token``) before anything is computed, in the same round trip as the generations' read on
    a plain django-redis cache; ``LockHeld`` is raised, with nothing computed, if another token
    holds it.  perfkit.warming's chunks use it; releasing it is the caller's business.
    """
    started = time.perf_counter()
    result = WarmResult()
    planned: list[tuple[tuple[Any, ...], dict[str, Any], str, tuple[str, ...]]] = []
    for args, kwargs in calls:
        if type(args) is not tuple:
            args = tuple(args)
        if type(kwargs) is not dict:
            kwargs = dict(kwargs)
        try:
            key, gkeys = wrapper._keys(args, kwargs)
        except Exception as exc:
            result.failed.append((args, kwargs, f"{type(exc).__name__}: {exc}"))
            continue
        planned.append((args, kwargs, key, gkeys))
    if not planned:
        result.seconds = time.perf_counter() - started
        return result
    store = get_store(wrapper.cache_alias)
    every = tuple(sorted({k for gkeys in {p[3] for p in planned} for k in gkeys}))
    if lock is None:
        found = store.get_many(list(every))
    else:  # warming's chunk lock, taken in the same round trip as the generations' read
        found = _lock_and_read(store, lock, list(every))
    tokens_of = dict(zip(every, generations.snapshot(store, every, found), strict=False))
    timeout = wrapper._resolved.timeout
    hard = None if timeout is None else timeout + (wrapper.stale or 0)
    batch = _set_batch(store, hard)
    json = wrapper._resolved.json
    where = f"@cached {wrapper.perfkit_name}"
    now_of = clock.current().now
    compute, perf, pack = wrapper._compute_sync, time.perf_counter, envelope.pack
    uncommitted, skip_none = generations.uncommitted, not wrapper.cache_none
    entries: dict[str, Any] = {}
    put = batch.add if batch is not None else entries.__setitem__
    tokens_for: dict[tuple[str, ...], tuple[tuple[Any, ...], bool]] = {}
    computed, compute_time = 0, 0.0  # the stats, added once (also when interrupted)
    index = 0
    try:
        for index, (args, kwargs, key, gkeys) in enumerate(planned):  # noqa: B007 (read below)
            known = tokens_for.get(gkeys)
            if known is None:  # calls with the same dependencies share one tuple of tokens
                tokens = tuple(tokens_of[k] for k in gkeys)
                # and whether values computed from them may be stored (not within
                # REPLICA_LAG of a bump, not in a snapshot-isolated transaction): as for a
                # miss, only decided once, before computing (a later decision could only
                # allow more)
                known = tokens_for[gkeys] = (tokens, generations.storable(gkeys, tokens))
            tokens, storable = known
            t0 = perf()
            try:
                value = compute(args, kwargs)
            except Exception as exc:
                result.failed.append((args, kwargs, f"{type(exc).__name__}: {exc}"))
                continue
            spent = perf() - t0
            computed += 1
            compute_time += spent
            if (value is None and skip_none) or not storable or uncommitted(gkeys):
                continue
            now = now_of()
            soft = now + timeout if timeout is not None else float("inf")
            entry: Any = pack(value, tokens, now, spent, soft)
            try:
                if json:
                    entry = envelope.envelope_to_json(entry, where)
                put(key, entry)
            except Exception as exc:  # a value its serializer cannot write: this call fails
                result.failed.append((args, kwargs, f"{type(exc).__name__}: {exc}"))
    except BaseException as stop:
        # interrupted (a time limit, a shutdown): keep what was computed, and tell the caller
        # which calls did not finish
        _count(wrapper, computed, compute_time)
        try:
            _store(store, batch, entries, hard, result)
        except Exception as exc:
            failures.log_only(wrapper.perfkit_name, wrapper.cache_alias, exc, "set_many")
        result.seconds = time.perf_counter() - started
        stop.perfkit_warm_result = result  # type: ignore[attr-defined]
        stop.perfkit_unfinished = [(a, k) for a, k, *_ in planned[index:]]  # type: ignore[attr-defined]
        raise
    _count(wrapper, computed, compute_time)
    _store(store, batch, entries, hard, result)
    result.seconds = time.perf_counter() - started
    return result


def _count(wrapper: Any, computed: int, compute_time: float) -> None:
    wrapper._stats.refreshes += computed
    wrapper._stats.compute_time += compute_time


def _store(
    store: Any,
    batch: _SetBatch | None,
    entries: dict[str, Any],
    timeout: float | None,
    result: WarmResult,
) -> None:
    if batch is not None:
        result.stored = batch.send()
    elif entries:
        store.set_many(entries, timeout=timeout)
        result.stored = len(entries)


def _direct_store(store: Any) -> Any:
    """``direct_django_redis`` of a Store that talks to its backend itself (no strict view)."""
    if store.ops is not store.backend or store.breaker:
        return None
    return direct_django_redis(store.backend)


def redis_command(*parts: bytes) -> bytes:
    """One command in RESP (an array of bulk strings), written out: redis-py's packing
    encodes every argument through several layers and cost more than a warm's writes."""
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


def redis_round_trip(client: Any, commands: list[bytes]) -> list[Any]:
    """Send ``commands`` in one write on a connection of ``client``'s pool; their replies.

    Every reply is read, even after an error reply, so the connection goes back clean; the
    first error is raised then.  A connection that failed midway is dropped, never reused.
    """
    from redis.exceptions import ResponseError  # django-redis is there, so is redis-py

    pool = client.get_client(write=True).connection_pool
    connection = pool.get_connection()
    replies: list[Any] = []
    error: Exception | None = None
    try:
        connection.send_packed_command([b"".join(commands)])
        for _ in commands:
            try:
                replies.append(connection.read_response())
            except ResponseError as exc:  # a refused SET (maxmemory): raised once all are read
                replies.append(None)
                error = error or exc
    except BaseException:
        connection.disconnect()  # it may still owe replies
        raise
    finally:
        pool.release(connection)
    if error is not None:
        raise error
    return replies


class _SetBatch:
    """The ``SET`` commands storing a chunk on a plain django-redis cache, one packed write.

    django-redis' ``set_many`` builds a redis-py pipeline, one ``set()`` call and reply
    callback per key, inside MULTI/EXEC: for a chunk of 100 entries that was half of the
    store's time and the largest cost warming had over a hand-written ``set_many``.  Here
    the keys are made by the backend's own client and the values serialized as its
    serializer would, then sent as one write on a connection of its own pool (the entries
    are independent: no MULTI/EXEC).  Each entry is serialized as it is added, so the value
    and its envelope are freed at once rather than all held until the store (fewer
    collector passes over a chunk).
    """

    def __init__(self, client: Any, timeout: float | None) -> None:
        self.client = client
        self.encode = client.get_client(write=True).connection_pool.get_encoder().encode
        self.protocol = pickle_protocol(client)
        self.expiry = () if timeout is None else (b"PX", b"%d" % max(1, int(timeout * 1000)))
        self.commands: dict[str, bytes] = {}  # by key: the last value of a key wins

    def add(self, key: str, value: Any) -> None:
        """Serialize one entry (raises what the serializer raises, nothing is sent)."""
        if self.protocol is not None and type(value) is not int:
            data = pickle.dumps(value, self.protocol)  # what its PickleSerializer writes
        else:
            data = self.encode(self.client.encode(value))
        made = self.encode(self.client.make_key(key))
        self.commands[key] = redis_command(b"SET", made, data, *self.expiry)

    def send(self) -> int:
        """Write every entry added; how many."""
        if self.commands:
            redis_round_trip(self.client, list(self.commands.values()))
        return len(self.commands)


def _set_batch(store: Any, timeout: float | None) -> _SetBatch | None:
    """A ``_SetBatch`` for ``store``, or None where it would change what the backend does:
    another client class, perfkit's resilient backends, IGNORE_EXCEPTIONS, a timeout of 0 or
    less, or someone observing cache operations (``capture_cache``, the toolbar), who must
    see the ``set_many``."""
    client = _direct_store(store)
    if client is None or (timeout is not None and timeout <= 0):
        return None
    return _SetBatch(client, timeout)


def _lock_and_read(store: Any, lock: tuple[str, int, int], keys: list[str]) -> dict[str, Any]:
    """Take (or find ours) the lock ``(key, token, ttl)`` and read ``keys``: one round trip
    on a plain django-redis cache.  Raises ``LockHeld`` if another token holds the lock."""
    key, token, ttl = lock
    client = _direct_store(store)
    if client is None:
        backend = store.backend
        if not (backend.add(key, token, ttl) or backend.get(key) == token):
            raise LockHeld(key)
        found: dict[str, Any] = store.get_many(keys)
        return found
    encode = client.get_client(write=True).connection_pool.get_encoder().encode
    made = encode(client.make_key(key))
    ours = b"%d" % token  # django-redis stores an int as its digits
    _, held, values = redis_round_trip(
        client,
        [
            redis_command(b"SET", made, ours, b"NX", b"EX", b"%d" % ttl),
            redis_command(b"GET", made),
            redis_command(b"MGET", *(encode(client.make_key(k)) for k in keys)),
        ],
    )
    if held != ours:
        raise LockHeld(key)
    decode = client.decode
    return {k: decode(v) for k, v in zip(keys, values, strict=True) if v is not None}


class LockHeld(Exception):
    """``warm_many(lock=...)``: another task holds that lock; nothing was computed."""


def direct_django_redis(backend: Any) -> Any:
    """The django-redis ``DefaultClient`` of ``backend`` if perfkit may talk to its Redis
    directly (for warming's writes and chunk locks), else None.

    None for anything but a plain django-redis cache with the default client, for perfkit's
    resilient backends (their own error handling and breaker), with IGNORE_EXCEPTIONS (the
    cache API swallows errors there) and while anyone observes cache operations.
    """
    if observe.cache_observers:
        return None
    try:
        return _direct[backend]
    except KeyError:
        client = _direct[backend] = _direct_client(backend)
        return client
    except TypeError:  # a backend that takes no weak references
        return _direct_client(backend)


# backend -> its client or None; a backend's class and options never change (Django makes new
# backend objects when CACHES changes), so this is decided once per backend object
_direct: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _direct_client(backend: Any) -> Any:
    if "django_redis" not in sys.modules:
        return None
    if getattr(backend, "perfkit_strict", backend) is not backend:
        return None
    if getattr(backend, "perfkit_breaker", None) is not None:
        return None
    from django_redis.cache import RedisCache
    from django_redis.client import DefaultClient

    if not isinstance(backend, RedisCache) or type(backend.client) is not DefaultClient:
        return None
    if django_redis_options(backend.client).get("IGNORE_EXCEPTIONS") or getattr(
        settings, "DJANGO_REDIS_IGNORE_EXCEPTIONS", False
    ):
        return None
    return backend.client
