"""The engine of one @cached function: keys, the read, the decision, the store.

``decorators.py`` turns it into the callable users see (sync, async, methods).  Every cache call
is guarded: on failure the function's own result is returned and ``failures.report`` fires.
"""

from __future__ import annotations

import functools
import pickle
from typing import Any, NamedTuple, cast

from perfkit.cache import clock, envelope, failures, generations, naming, stampede
from perfkit.cache.catalog import MISSING
from perfkit.cache.keys import KeyBuilder
from perfkit.cache.stats import FunctionStats
from perfkit.cache.store import Store, _epoch, get_store
from perfkit.conf import perfkit_settings
from perfkit.internals.caches import serializer_is_json
from perfkit.signals import cache_hit, cache_miss, cache_stale

__all__ = ["Decision", "Engine", "Resolved"]

_DEFAULT = object()
_DECODE_ERRORS = (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError)


class Decision:
    """What a read decided: serve ``value`` (hit/stale) or compute (with ``tokens``).

    ``locked``: the token of the single-flight lock this caller holds (released by ``_store``),
    or None.  A "refresh" decision (early or stale) carries the cached ``value``: served if the
    refresh raises.
    """

    __slots__ = ("compute", "locked", "state", "tokens", "value")

    def __init__(
        self,
        compute: bool,
        value: Any = None,
        tokens: Any = None,
        locked: int | None = None,
        state: str = "hit",
    ) -> None:
        self.compute = compute
        self.value = value
        self.tokens = tokens
        self.locked = locked
        # a computing decision is a "miss", or a "refresh" (early or stale, counted apart)
        self.state = state if not compute or state == "refresh" else "miss"


class Resolved(NamedTuple):
    """What a function resolves once (and again after CACHES/PERFKIT change)."""

    epoch: int
    prefix: str  # KEY_PREFIX + ":"
    static_keys: tuple[str, ...]  # generation keys of the static dependencies
    timeout: float | None
    beta: float  # XFetch beta, 0 without early refresh
    alias: str
    json: bool  # the cache serializes with JSON: envelopes go through envelope.*_json


_UNRESOLVED = Resolved(-1, "", (), None, 0.0, "", False)


_UNCACHED = Decision(True)  # compute and do not store (the cache failed)
_UNREAD: Any = object()  # _decide reads the entry itself


class Engine:
    """Shared state and logic of a cached function (sync and async wrappers use it)."""

    # may a stale or early refresh run outside the caller (Celery, perfkit's threads)?
    # @cached_view's engine says no: the request under way renders and stores its response
    hands_off = True

    def _setup(self, func: Any, *, timeout: Any, key: Any, depends_on: Any, cache: str | None,
               stale: float | None, lock: bool, early_refresh: bool, cache_none: bool,
               version: Any, name: str | None = None) -> None:  # fmt: skip
        functools.update_wrapper(self, func)  # type: ignore[arg-type]
        self.func = func
        self.perfkit_name = name or naming.function_name(func)
        self._cache_arg = cache
        self._timeout = timeout
        self.stale = stale
        self.lock = lock
        self.early_refresh = early_refresh
        self.cache_none = cache_none
        self.keys = KeyBuilder(func, self.perfkit_name, key, version)
        deps = depends_on if isinstance(depends_on, (list, tuple, set)) else (depends_on,)
        self._static_deps = [d for d in deps if not _is_dep_callable(d)]
        self._dep_funcs = [d for d in deps if _is_dep_callable(d)]
        self._stats = FunctionStats()
        self._resolved = _UNRESOLVED

    @property
    def cache_alias(self) -> str:
        return self._cache_arg or perfkit_settings.CACHE_ALIAS

    def _resolve(self) -> Resolved:
        # once per function (and after CACHES/PERFKIT change): prefix, static generation keys
        epoch = _epoch[0]
        prefix = perfkit_settings.KEY_PREFIX
        where = f"@cached {self.perfkit_name} depends_on"
        static = {f"{prefix}:f:{self.perfkit_name}"}
        for dep in self._static_deps:
            static.update(generations.dependency_keys(dep, where))
        timeout = perfkit_settings.DEFAULT_TIMEOUT if self._timeout is _DEFAULT else self._timeout
        beta = perfkit_settings.XFETCH_BETA if self.early_refresh else 0.0
        alias = self.cache_alias
        try:
            json = serializer_is_json(get_store(alias).backend)
        except Exception as exc:  # an unknown alias or a failing backend: reported per call
            failures.log_only(self.perfkit_name, alias, exc, "resolve")
            json = False
        self._memo: dict[tuple[Any, ...], str] = {}
        self._dep_memo: dict[Any, tuple[str, ...]] = {}
        self._resolved = Resolved(
            epoch, prefix + ":", tuple(sorted(static)), timeout, beta, alias, json
        )
        return self._resolved

    def _keys(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
        resolved = self._resolved
        if resolved.epoch != _epoch[0]:
            resolved = self._resolve()
        # the keys of calls with plain arguments (exact int/str) are remembered: equal plain
        # tuples give equal keys (1 and True or 1.0 are other types, so never share a slot).
        # Not with a key= callable: it may read more than its arguments (the language, ...)
        memo = self._memo if not kwargs and self.keys.key_func is None and _plain(args) else None
        key = memo.get(args) if memo is not None else None
        if key is None:
            key = resolved.prefix + self.keys.suffix(args, kwargs)
            if memo is not None:
                if len(memo) >= _MEMO_SIZE:
                    memo.clear()
                memo[args] = key
        if not self._dep_funcs:
            return key, resolved.static_keys
        if len(self._dep_funcs) == 1:
            # the common case, depends_on=lambda book_id: (Book, book_id): the callable runs on
            # every call (it may read state), its plain result maps to the same keys every time
            found = self._dep_funcs[0](*args, **kwargs)
            slot = _dep_slot(found)
            if slot is not None:
                gkeys = self._dep_memo.get(slot)
                if gkeys is None:
                    gkeys = self._dynamic_keys(resolved, [found])
                    if len(self._dep_memo) >= _MEMO_SIZE:
                        self._dep_memo.clear()
                    self._dep_memo[slot] = gkeys
                return key, gkeys
            return key, self._dynamic_keys(resolved, [found])
        return key, self._dynamic_keys(resolved, [dep(*args, **kwargs) for dep in self._dep_funcs])

    def _dynamic_keys(self, resolved: Resolved, results: list[Any]) -> tuple[str, ...]:
        where = f"@cached {self.perfkit_name} depends_on"
        dynamic = set(resolved.static_keys)
        for found in results:
            items = found if isinstance(found, (list, set, frozenset)) else [found]
            if isinstance(found, tuple) and not _is_pair(found):
                items = list(found)
            for item in items:
                dynamic.update(generations.dependency_keys(item, where))
        return tuple(sorted(dynamic))

    def key_for(self, *args: Any, **kwargs: Any) -> str:
        """The cache key of this call (as passed to Django's cache API)."""
        return self._keys(args, kwargs)[0]

    # -- the read ----------------------------------------------------------------------------
    def _fail(self, key: Any, alias: str, exc: Exception, op: str) -> None:
        failures.report(self, self.perfkit_name, key, alias, exc, op)

    def _read(self, store: Store, key: str, gkeys: tuple[str, ...]) -> dict[str, Any] | None:
        try:
            if generations.pending:
                generations.replay(store)
            fast = store.fast
            keys = [key, *gkeys]
            found = fast.get_many(keys) if fast is not None else store.get_many(keys)
            if self._resolved.json and key in found:
                found[key] = envelope.envelope_from_json(found[key])
            return found
        except _DECODE_ERRORS as exc:
            self._fail(key, store.alias, exc, "get")
            try:
                store.delete(key)  # a corrupt entry: drop it so the next call stores afresh
            except Exception as again:
                failures.log_only(self.perfkit_name, store.alias, again, "delete")
            return None
        except Exception as exc:
            self._fail(key, store.alias, exc, "get")
            return None

    def _hit(self, store: Store, key: str, gkeys: tuple[str, ...]) -> tuple[bool, Any]:
        """The hit path: (True, value) for a fresh entry (no XFetch draw), else (False, the
        read: None when the cache is bypassed or failed)."""
        if generations.uncommitted(gkeys):  # this transaction wrote a dependency
            return False, None
        found = self._read(store, key, gkeys)
        if found is None:
            return False, None
        entry = found.get(key)
        now = clock.in_use[0].now()
        if (
            type(entry) is tuple
            and len(entry) == 6
            and entry[0] == envelope.MAGIC
            and now < entry[5]  # envelope.SOFT
            and envelope.tokens_match(entry[2], gkeys, found)
            and not envelope.draws_early(entry, now, self._resolved.beta)
        ):
            # what judge() says of a stored envelope, without building an Envelope
            self._stats.hits += 1
            if cache_hit.receivers:
                age = now - entry[3]  # envelope.COMPUTED_AT
                cache_hit.send(self, key=key, cache=store.alias, age=age, dependencies=list(gkeys))
            return True, entry[1]  # envelope.VALUE
        return False, found

    def _decide(
        self,
        store: Store,
        key: str,
        gkeys: tuple[str, ...],
        args: Any,
        kwargs: Any,
        found: Any = _UNREAD,
    ) -> Decision:
        if found is _UNREAD:
            hit, found = self._hit(store, key, gkeys)
            if hit:
                return Decision(False, found)
        if found is None:  # read-your-writes, or the cache failed
            return _UNCACHED
        entry = envelope.loaded(found.get(key))
        now = clock.current().now()
        state = envelope.judge(
            entry, gkeys, found, now, beta=self._resolved.beta, stale=self.stale
        )
        if state is envelope.FRESH:
            entry = cast(envelope.Envelope, entry)  # judged fresh: an entry is there
            self._stats.hits += 1
            if cache_hit.receivers:
                age = now - entry.computed_at
                cache_hit.send(self, key=key, cache=store.alias, age=age, dependencies=list(gkeys))
            return Decision(False, entry.value)
        try:
            if state is envelope.EARLY or state is envelope.STALE:
                entry = cast(envelope.Envelope, entry)  # early or stale: an entry is there
                if (
                    state is envelope.EARLY
                    and self.stale is not None
                    and stampede.can_hand_off(self)
                ):
                    # with stale= an expired value is served while a background refresh runs:
                    # nobody waits at expiry, so refreshing early would only refresh more often
                    return self._serve(store, key, gkeys, entry, state)
                token = stampede.acquire(store, key)
                if token is None:  # a refresh is running (here, in a thread or in a worker)
                    return self._serve(store, key, gkeys, entry, state)
                tokens = generations.snapshot(store, gkeys, found)
                decision = Decision(True, entry.value, tokens, locked=token, state="refresh")
                if state is envelope.STALE:  # before the hand-off: its store must come after
                    stampede.keep_servable(self, store, key, entry, now)
                if stampede.hand_off(self, store, key, gkeys, args, kwargs, decision):
                    return self._serve(store, key, gkeys, entry, state)
                self._stats.refreshes += 1  # no refresher took it: this caller refreshes
                return decision
            locked = stampede.acquire(store, key) if self.lock else None
            if locked is not None:
                # double-checked: a holder may have stored and released between our read and
                # our lock; without this second read its waiters would compute once more
                found = self._read_again(store, [key, *gkeys], key)
                if self._usable(found, key, gkeys):
                    stampede.release(store, key, locked)
                    return self._waited_hit(store, key, gkeys, found[key])
            elif self.lock:
                waited = stampede.wait(
                    store, key, gkeys, lambda f: self._usable(self._decoded(f, key), key, gkeys)
                )
                if waited is not None:
                    return self._waited_hit(store, key, gkeys, waited[key])
                found = store.get_many(list(gkeys))  # the holder may have created generations
            return Decision(True, tokens=generations.snapshot(store, gkeys, found), locked=locked)
        except Exception as exc:
            self._fail(key, store.alias, exc, "lock")
            return _UNCACHED

    def _decoded(self, found: dict[str, Any], key: str) -> dict[str, Any]:
        if self._resolved.json and key in found:
            found[key] = envelope.envelope_from_json(found[key])
        return found

    def _read_again(self, store: Store, keys: list[str], key: str) -> dict[str, Any]:
        return self._decoded(store.get_many(keys), key)

    def _waited_hit(self, store: Store, key: str, gkeys: tuple[str, ...], entry: Any) -> Decision:
        """Another caller's fresh result, found after waiting for (or taking) the lock."""
        entry = envelope.loaded(entry)
        self._stats.hits += 1
        if cache_hit.receivers:
            age = clock.current().now() - entry.computed_at
            cache_hit.send(self, key=key, cache=store.alias, age=age, dependencies=list(gkeys))
        return Decision(False, entry.value)

    def _usable(self, found: dict[str, Any], key: str, gkeys: tuple[str, ...]) -> bool:
        now = clock.current().now()
        entry = envelope.loaded(found.get(key))
        return envelope.judge(entry, gkeys, found, now, beta=0, stale=None) is envelope.FRESH

    def _serve(
        self, store: Store, key: str, gkeys: tuple[str, ...], entry: Any, state: str
    ) -> Decision:
        age = clock.current().now() - entry.computed_at
        if state is envelope.EARLY:
            self._stats.hits += 1
            if cache_hit.receivers:
                cache_hit.send(self, key=key, cache=store.alias, age=age, dependencies=list(gkeys))
        else:
            self._stats.stale += 1
            if cache_stale.receivers:
                cache_stale.send(
                    self, key=key, cache=store.alias, age=age, dependencies=list(gkeys)
                )
            return Decision(False, entry.value, state="stale")
        return Decision(False, entry.value)

    def _refresh_failed(
        self,
        store: Store,
        key: str,
        gkeys: tuple[str, ...],
        decision: Decision,
        error: BaseException,
    ) -> None:
        """An early or stale refresh raised: the caller gets the cached value; report it."""
        if decision.locked is not None:
            try:
                stampede.release(store, key, decision.locked)
            except Exception as exc:
                self._fail(key, store.alias, exc, "unlock")
        failures.report(self, self.perfkit_name, key, store.alias, error, "refresh", closed=False)

    # -- the write ---------------------------------------------------------------------------
    def _store(
        self,
        store: Store,
        key: str,
        gkeys: tuple[str, ...],
        decision: Decision,
        value: Any,
        spent: float,
        miss: bool = True,
    ) -> None:
        if miss:
            self._stats.misses += 1
        self._stats.compute_time += spent
        try:
            if (
                decision.tokens is not None
                and (value is not None or self.cache_none)
                and generations.storable(gkeys, decision.tokens)
            ):
                timeout = self._resolved.timeout
                now = clock.current().now()
                soft = now + timeout if timeout is not None else float("inf")
                hard = None if timeout is None else timeout + (self.stale or 0)
                entry: Any = envelope.pack(value, decision.tokens, now, spent, soft)
                if self._resolved.json:
                    entry = envelope.envelope_to_json(entry, f"@cached {self.perfkit_name}")
                store.set_many({key: entry}, timeout=hard)
        except Exception as exc:
            self._fail(key, store.alias, exc, "set")
        finally:
            if decision.locked is not None:
                try:
                    stampede.release(store, key, decision.locked)
                except Exception as exc:
                    self._fail(key, store.alias, exc, "unlock")
        if cache_miss.receivers:  # after every computation (a refresh too)
            cache_miss.send(
                self, key=key, cache=store.alias, compute_time=spent, dependencies=list(gkeys)
            )

    def _begin(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[Store | None, str, tuple[str, ...]]:
        key, gkeys = self._keys(args, kwargs)
        try:
            return get_store(self._resolved.alias), key, gkeys
        except Exception as exc:
            self._fail(key, self.cache_alias, exc, "connect")
            return None, key, gkeys

    def _peek(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        store, key, gkeys = self._begin(args, kwargs)
        if generations.uncommitted(gkeys):
            return MISSING
        found = self._read(store, key, gkeys) if store is not None else None
        if not found:
            return MISSING
        now = clock.current().now()
        entry = envelope.loaded(found.get(key))
        state = envelope.judge(entry, gkeys, found, now, beta=0, stale=self.stale)
        return entry.value if state in (envelope.FRESH, envelope.STALE) else MISSING

    def _forget(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            self.keys.bind(args, kwargs)
        except TypeError:
            if args or kwargs:
                raise
            # no arguments for a function that needs some: every entry of the function
            prefix = perfkit_settings.KEY_PREFIX
            generations.bump([f"{prefix}:f:{self.perfkit_name}"], targets=[self.perfkit_name])
            return
        store, key, _ = self._begin(args, kwargs)
        if store is not None:
            try:
                store.delete(key)
            except Exception as exc:
                self._fail(key, store.alias, exc, "delete")


_MEMO_SIZE = 4096
_PLAIN_STR = 256  # longer strings are keyed each time (the memo holds its keys)


def _plain(args: tuple[Any, ...]) -> bool:
    for arg in args:
        cls = type(arg)
        if cls is not int and (cls is not str or len(arg) > _PLAIN_STR):
            return False
    return True


def _dep_slot(found: Any) -> Any:
    """A memo slot for a depends_on callable's result that always maps to the same keys, or
    None: (Model class or label, plain pk) pairs, a model class or label, a saved instance."""
    cls = type(found)
    if cls is tuple:
        if (
            len(found) == 2
            and _plain(found[1:])
            and (type(found[0]) is str or isinstance(found[0], type))
        ):
            return found
        return None
    if cls is str or isinstance(found, type):
        return found
    pk = getattr(found, "pk", None)
    if pk is not None and getattr(found, "_meta", None) is not None and _plain((pk,)):
        return (cls, "pk", pk)
    return None


def _is_pair(value: Any) -> bool:
    return len(value) == 2 and (isinstance(value[0], (type, str))) and not callable(value[1])


def _is_dep_callable(dep: Any) -> bool:
    from django.db.models import Model

    if isinstance(dep, (type, str, tuple, Model)):
        return False
    return callable(dep)
