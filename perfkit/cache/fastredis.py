"""The hit path's read on django-redis: one MGET on a connection this thread holds.

Skips what a decorator does not need per call (Django key validation, django-redis' exception
decorator and key re-mapping, redis-py's per-command pool get/release): each thread keeps one
connection made by the backend's own pool (same address, auth, db, timeouts), sends a packed
MGET (packed once per key list) and unpickles each value once.  Any error on that connection
drops it and retries once through the ordinary client, so an idle connection closed by the
server costs nothing but a reconnect; a timeout is not retried (a hung server would cost a
second socket timeout).  It consults the backend's circuit breaker when it has one
(docs/architecture.md, "Failures") and reports every key to ``perfkit.instrument.observe``
observers, since Django's cache API does not see this read (docs/architecture.md, "The hit
path").
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
from typing import Any

from perfkit.exceptions import CacheUnavailable
from perfkit.instrument import observe as _observe
from perfkit.internals.caches import django_redis_options
from perfkit.internals.redis import connected_socket

try:
    import hiredis
except ImportError:  # the hit path then uses redis-py's own send/read
    hiredis = None  # type: ignore[assignment]

__all__ = ["FastRedis", "for_backend"]

_PICKLE = "django_redis.serializers.pickle.PickleSerializer"
_IDENTITY = "django_redis.compressors.identity.IdentityCompressor"


def for_backend(backend: Any, alias: str) -> FastRedis | None:
    """A ``FastRedis`` for a plain django-redis backend, else None (use ``get_many``)."""
    if "django_redis" not in sys.modules:
        return None
    from django_redis.cache import RedisCache
    from django_redis.client import DefaultClient

    if not isinstance(backend, RedisCache) or type(backend.client) is not DefaultClient:
        return None
    return FastRedis(backend, alias)


def pickle_protocol(client: Any) -> int | None:
    """The pickle protocol of a django-redis client that only pickles (no other serializer,
    no compressor), else None: its values are then plain pickles (and ints as digits)."""
    options = django_redis_options(client)
    if options.get("SERIALIZER", _PICKLE) != _PICKLE:
        return None
    if options.get("COMPRESSOR", _IDENTITY) != _IDENTITY:
        return None
    return int(options.get("PICKLE_VERSION", pickle.DEFAULT_PROTOCOL))


def _timed_out(exc: BaseException) -> bool:
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return isinstance(exc, (TimeoutError, RedisTimeoutError))


class _Wire:
    """One thread's connection: redis-py made and authenticated it; perfkit sends on its socket
    and parses the reply with its own hiredis reader (skipping redis-py's per-command layers),
    or, without hiredis, uses the connection's own send/read."""

    __slots__ = ("connection", "reader", "sock")

    def __init__(self, connection: Any, sock: Any) -> None:
        self.connection = connection
        self.sock = sock
        self.reader: Any = hiredis.Reader() if sock is not None else None


class ReplyClosedError(ConnectionError):
    """The server closed the connection before the whole reply arrived."""


def roundtrip(wire: _Wire, packed: bytes) -> Any:
    """Send one packed command on ``wire`` and return its reply (raising an error reply)."""
    if wire.sock is None:
        wire.connection.send_packed_command([packed], check_health=False)
        return wire.connection.read_response()
    sock, reader = wire.sock, wire.reader
    sock.sendall(packed)
    while True:
        data = sock.recv(65536)
        if not data:
            raise ReplyClosedError("the Redis server closed the connection")
        reader.feed(data)
        reply = reader.gets()
        if reply is not False:
            if isinstance(reply, Exception):
                raise reply
            return reply


class FastRedis:
    """``get_many`` for one django-redis backend."""

    def __init__(self, backend: Any, alias: str) -> None:
        self.alias = alias
        self.client = backend.client
        self.breaker = getattr(backend, "perfkit_breaker", None)
        self.plain_pickle = pickle_protocol(self.client) is not None
        self._made: dict[str, Any] = {}
        self._packed: dict[tuple[str, ...], Any] = {}
        self._local = threading.local()

    def _make(self, key: str) -> Any:
        made = self._made.get(key)
        if made is None:
            if len(self._made) > 4096:
                self._made.clear()
            made = self._made[key] = self.client.make_key(key)
        return made

    def _wire(self) -> _Wire:
        # made like the pool's own connections (address, auth, db, timeouts, TLS) but outside
        # its accounting: pool.make_connection() counts against max_connections and a
        # connection held by a thread is never released, so thread churn (thread pools,
        # sync_to_async) would exhaust the pool for everyone; this one closes with its
        # thread's locals
        pool = self.client.get_client(write=False).connection_pool
        connection = pool.connection_class(**pool.connection_kwargs)
        sock = connected_socket(connection) if hiredis is not None else None
        wire = self._local.wire = _Wire(connection, sock)
        self._local.pid = os.getpid()
        return wire

    def _mget(self, keys: list[str]) -> list[Any]:
        local = self._local
        wire = getattr(local, "wire", None)
        if wire is None or local.pid != os.getpid():
            wire = self._wire()
        wanted = tuple(keys)
        packed = self._packed.get(wanted)
        if packed is None:
            if len(self._packed) > 4096:
                self._packed.clear()
            made = [self._make(key) for key in keys]
            packed = self._packed[wanted] = b"".join(wire.connection.pack_command("MGET", *made))
        try:
            replies: list[Any] = roundtrip(wire, packed)
            return replies
        except BaseException as exc:
            # never reuse a connection that may still owe a reply
            local.wire = None
            wire.connection.disconnect()
            if not isinstance(exc, Exception) or _timed_out(exc):
                # a server that did not answer in SOCKET_TIMEOUT would not answer the retry
                # either: one timeout per call, not two
                raise
        made = [self._make(key) for key in keys]
        values: list[Any] = self.client.get_client(write=False).mget(made)
        return values

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        breaker = self.breaker
        if breaker is not None and not breaker.allow():
            raise CacheUnavailable(f"cache {self.alias!r}: circuit breaker is open")
        try:
            values = self._mget(keys)
        except Exception as exc:
            if breaker is not None:
                breaker.failure(exc)
            raise
        if breaker is not None:
            breaker.success()
        found: dict[str, Any] = {}
        if self.plain_pickle:
            # django-redis stores ints as plain digits and everything else pickled (protocol
            # >= 2, so b"\x80" first): decode both without its decode() call per value
            for key, value in zip(keys, values, strict=False):
                if value is not None:
                    if value[:1] == b"\x80":
                        found[key] = pickle.loads(value)
                    else:
                        try:
                            found[key] = int(value)
                        except ValueError:
                            found[key] = self.client.decode(value)
        else:
            decode = self.client.decode
            for key, value in zip(keys, values, strict=False):
                if value is not None:
                    found[key] = decode(value)
        if _observe.cache_observers:
            for key in keys:
                _observe.report_cache_op("get_many", self.alias, key, key in found)
        return found
