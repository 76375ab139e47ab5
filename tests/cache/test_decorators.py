from __future__ import annotations

import asyncio
import time

import pytest

from perfkit.cache import MISSING, cached, clock, invalidate, registry, reset_stats, stats
from perfkit.exceptions import ImproperlyConfiguredError


def counting(**options):
    calls = []

    def decorate(func):
        def body(*args, **kwargs):
            calls.append((args, kwargs))
            return func(*args, **kwargs)

        body.__name__ = body.__qualname__ = func.__qualname__
        body.__module__ = func.__module__
        return cached(**options)(body), calls

    return decorate


def test_hit_miss_and_methods_on_every_backend(alias, signal_log):
    @cached(timeout=60, cache=alias)
    def double(x):
        calls.append(x)
        return {"v": x * 2}

    calls = []
    assert double.peek(2) is MISSING
    assert double(2) == {"v": 4}
    assert double(2) == {"v": 4}
    assert double(x=2) == {"v": 4}
    assert calls == [2]
    assert double.peek(2) == {"v": 4}
    double.invalidate(2)
    assert double.peek(2) is MISSING
    assert double(2) == {"v": 4}
    assert calls == [2, 2]
    assert double.refresh(2) == {"v": 4}
    assert calls == [2, 2, 2]
    double(3)
    double.invalidate()  # every entry
    assert double.peek(2) is MISSING
    assert double.peek(3) is MISSING
    s = stats(double)[double.perfkit_name]
    assert (s["hits"], s["misses"], s["refreshes"]) == (2, 3, 1)
    names = signal_log.names()
    assert names.count("cache_hit") == 2
    assert names.count("cache_miss") == 4  # sent after every computation, the refresh too
    hit = next(kw for name, kw in signal_log if name == "cache_hit")
    assert hit["sender"] is double
    assert hit["cache"] == alias
    assert hit["key"] == double.key_for(2)
    assert hit["dependencies"] == [f"pkt:f:{double.perfkit_name}"]
    assert hit["age"] >= 0


def test_none_is_cached_unless_cache_none_false(db):
    calls = []

    @cached(timeout=60)
    def maybe(x):
        calls.append(x)

    @cached(timeout=60, cache_none=False)
    def never(x):
        calls.append(-x)

    maybe(1), maybe(1), never(1), never(1)
    assert calls == [1, -1, -1]


def test_exceptions_propagate_and_are_not_cached(db):
    calls = []

    @cached(timeout=60)
    def boom(x):
        calls.append(x)
        raise ValueError(f"bad {x}")

    for _ in range(2):
        with pytest.raises(ValueError, match="bad 1"):
            boom(1)
    assert calls == [1, 1]
    # the lock was released: a third caller does not wait LOCK_WAIT seconds
    started = time.monotonic()
    with pytest.raises(ValueError):
        boom(1)
    assert time.monotonic() - started < 1


def test_timeout_expires_entries(alias):
    calls = []

    @cached(timeout=30, cache=alias, early_refresh=False)
    def f():
        calls.append(1)
        return len(calls)

    with clock.use(clock.FakeClock()) as fake:
        assert f() == 1
        fake.advance(29.9)
        assert f() == 1
        fake.advance(0.2)  # past the timeout for perfkit (the backend keeps the entry longer)
        assert f() == 2
        assert f() == 2


def test_timeout_none_keeps_until_invalidated(db):
    @cached(timeout=None)
    def f():
        return object.__new__(object).__class__.__name__

    f()
    assert f.peek() == "object"


def test_bad_options_raise_naming_the_option():
    with pytest.raises(ImproperlyConfiguredError) as info:
        cached(timeout="10")
    assert str(info.value) == (
        "@cached(timeout='10'): timeout must be a number of seconds >= 0 or None."
    )

    @cached(timeout=1, depends_on=[42])
    def f():
        return 1

    with pytest.raises(ImproperlyConfiguredError) as info:
        f()
    assert str(info.value) == (
        f"@cached {f.perfkit_name} "
        "depends_on: 42 is not a dependency perfkit understands; use a model class, a model "
        "instance, a (Model, pk) pair or 'app_label.ModelName'."
    )


def test_bare_decorator_and_registry(db):
    @cached
    def plain(x):
        return x + 1

    assert plain(1) == 2
    assert plain.peek(1) == 2
    assert registry[plain.perfkit_name] is plain
    assert plain.__name__ == "plain"
    assert plain.__wrapped__ is not None


class Shelf:
    def __init__(self, pk):
        self.pk = pk
        self.calls = 0

    def __perfkit_key__(self):
        return self.pk

    @cached(timeout=60)
    def count(self, extra=0):
        self.calls += 1
        return self.pk + extra

    @cached(timeout=60)
    @classmethod
    def kind(cls, n):
        Shelf.kind_calls += 1
        return f"{cls.__name__}{n}"

    @cached(timeout=60)
    @staticmethod
    def twice(n):
        Shelf.static_calls += 1
        return n * 2

    kind_calls = 0
    static_calls = 0


def test_methods_classmethods_staticmethods(db):
    a, b = Shelf(1), Shelf(2)
    assert a.count() == 1
    assert a.count() == 1
    assert b.count(5) == 7
    assert a.calls == 1
    assert a.count.peek() == 1
    assert b.count.peek() is MISSING
    a.count.invalidate()
    assert a.count.peek() is MISSING
    assert a.count.key_for() != b.count.key_for()
    assert Shelf.kind(1) == "Shelf1"
    assert Shelf.kind(1) == "Shelf1"
    assert Shelf.kind_calls == 1
    assert Shelf.kind.peek(1) == "Shelf1"
    assert Shelf.twice(4) == 8
    assert Shelf(3).twice(4) == 8
    assert Shelf.static_calls == 1


def test_async_functions_and_twins(db):
    calls = []

    @cached(timeout=60)
    async def fetch(x):
        calls.append(x)
        await asyncio.sleep(0)
        return x * 3

    async def scenario():
        assert await fetch(2) == 6
        assert await fetch(2) == 6
        assert await fetch.apeek(2) == 6
        await fetch.ainvalidate(2)
        assert await fetch.apeek(2) is MISSING
        assert await fetch.arefresh(2) == 6
        assert await fetch(2) == 6

    asyncio.run(scenario())
    assert calls == [2, 2]
    from asgiref.sync import iscoroutinefunction

    assert iscoroutinefunction(fetch)
    assert fetch.warm_many([((7,), {})]).stored == 1
    assert fetch.peek(7) == 21


@pytest.mark.redis
def test_async_on_redis(redis_cache):
    @cached(timeout=60, cache="redis")
    async def fetch(x):
        return [x]

    async def scenario():
        return [await fetch(1), await fetch(1), await fetch.apeek(1)]

    assert asyncio.run(scenario()) == [[1], [1], [1]]


def test_warm_many_stores_with_one_set_many(alias):
    from perfkit.testing import capture_cache

    @cached(timeout=60, cache=alias)
    def square(x):
        if x == 3:
            raise ValueError("three")
        return x * x

    square(0)  # generations exist now
    with capture_cache() as log:
        result = square.warm_many([((1,), {}), ((2,), {}), ((3,), {}), ((), {"x": 4})])
    assert result.stored == 3
    assert result.failed == [((3,), {}, "ValueError: three")]
    assert result.seconds > 0
    # capture_cache logs one op per key: one read of the generations, one set_many of 3 keys
    assert [op.op for op in log] == ["get_many"] + ["set_many"] * 3
    assert square.peek(4) == 16
    assert square.peek(3) is MISSING


class _Stop(BaseException):
    """Stands for a time limit or a shutdown arriving while a call computes."""


def test_warm_many_keeps_what_it_computed_when_interrupted(alias):
    @cached(timeout=60, cache=alias)
    def square(x):
        if x == 3:
            raise _Stop()
        return x * x

    with pytest.raises(_Stop) as info:
        square.warm_many([((1,), {}), ((2,), {}), ((3,), {}), ((4,), {})])
    assert info.value.perfkit_warm_result.stored == 2
    assert info.value.perfkit_unfinished == [((3,), {}), ((4,), {})]
    assert (square.peek(1), square.peek(2)) == (1, 4)
    assert square.peek(4) is MISSING


def test_reset_stats(db):
    @cached(timeout=60)
    def f():
        return 1

    f()
    reset_stats(f)
    assert stats(f)[f.perfkit_name]["misses"] == 0


def test_invalidate_function_target(db):
    @cached(timeout=60)
    def f(x):
        return x

    f(1)
    invalidate(f)
    assert f.peek(1) is MISSING


@pytest.mark.redis
def test_redis_fast_path_is_seen_by_capture_cache_and_survives_a_killed_connection(
    db, redis_cache
):
    from perfkit.testing import capture_cache

    @cached(timeout=60, cache="redis")
    def f(x):
        return [x]

    f(1)
    with capture_cache() as log:
        assert f(1) == [1]
    reads = [(op.op, op.key, op.hit) for op in log]
    assert reads == [
        ("get_many", f.key_for(1), True),
        ("get_many", f"pkt:f:{f.perfkit_name}", True),
    ]
    # the server closes every client connection (as an idle timeout would)
    redis_cache.client.get_client().client_kill_filter(_type="normal", skipme=True)
    assert f(1) == [1]
    assert stats(f)[f.perfkit_name]["errors"] == 0
    assert stats(f)[f.perfkit_name]["hits"] == 2


def test_caches_are_resolved_again_when_settings_change(db, settings):
    @cached(timeout=60)
    def f():
        return "v"

    f()
    assert f.peek() == "v"
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "perfkit-tests-other",
        },
    }
    assert f.peek() is MISSING  # another backend now
    settings.PERFKIT = {"KEY_PREFIX": "other"}
    assert f.key_for().startswith("other:c:")


# -- names: functions made at run time (issue 14) -------------------------------------------------
def _power(n, alias):
    @cached(timeout=60, cache=alias)
    def power(x):
        return x**n

    return power


def test_closures_from_one_factory_have_their_own_keys(alias):
    sq, cube = _power(2, alias), _power(3, alias)
    assert (sq(3), cube(3)) == (9, 27)
    assert (sq(3), cube(3)) == (9, 27)  # from the cache, each its own entry
    assert sq.perfkit_name != cube.perfkit_name
    assert registry[sq.perfkit_name] is sq
    assert registry[cube.perfkit_name] is cube
    assert sq.key_for(3) != cube.key_for(3)
    again = _power(2, alias)  # the same closure again: the same name and keys (stable)
    assert again.perfkit_name == sq.perfkit_name
    assert again.key_for(3) == sq.key_for(3)


def test_lambdas_have_their_own_keys(alias):
    sq = cached(timeout=60, cache=alias)(lambda x: x * x)
    cube = cached(timeout=60, cache=alias)(lambda x: x**3)
    assert (sq(3), cube(3), sq(3), cube(3)) == (9, 27, 9, 27)
    assert sq.perfkit_name != cube.perfkit_name


def test_closure_names_are_stable_across_processes(db):
    import subprocess
    import sys

    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'tests.settings'; "
        "django.setup(); from tests.cache.test_decorators import _power; "
        "print(_power(2, 'default').perfkit_name, _power(2, 'default').key_for(3))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    here = _power(2, "default")
    assert out.stdout.split() == [here.perfkit_name, here.key_for(3)]


def test_closures_over_values_with_no_stable_form_need_a_name(db):
    def make(client):
        @cached(timeout=60)
        def fetch(x):
            return client, x

        return fetch

    first = make(object())
    assert make(first.func.__closure__[0].cell_contents) is not None  # same object: same one
    with pytest.raises(ImproperlyConfiguredError, match=r"Pass name= .* to @cached"):
        make(object())

    def named(client, name):
        return cached(timeout=60, name=name)(lambda x: (client, x))

    a, b = named(object(), "tests.fetch_a"), named(object(), "tests.fetch_b")
    assert (a.perfkit_name, b.perfkit_name) == ("tests.fetch_a", "tests.fetch_b")
    assert a.key_for(1).startswith("pkt:c:tests.fetch_a:")


def test_name_must_be_a_string():
    with pytest.raises(ImproperlyConfiguredError, match=r"@cached\(name=3\)"):
        cached(name=3)


# -- version= and key= (issue 14) -----------------------------------------------------------------
def test_version_is_part_of_a_custom_key(alias):
    def define(version, shape):
        @cached(timeout=60, cache=alias, key="item:{x}", version=version, name="tests.item")
        def item(x):
            return shape(x)

        return item

    assert define(1, lambda x: [x])(5) == [5]
    assert define(2, lambda x: {"x": x})(5) == {"x": 5}  # not the version-1 list
    by_func = cached(timeout=60, cache=alias, key=lambda x: f"i{x}", version=3)(lambda x: x)
    assert ":v3:" in by_func.key_for(1)


# -- __perfkit_key__ and container subclasses (issue 14) ------------------------------------------
class _Keyed:
    def __init__(self, n):
        self.n = n

    def __perfkit_key__(self):
        return self.n

    @cached(timeout=60, cache="default")
    def label(self):
        return f"{type(self).__name__}({self.n})"


class _OtherKeyed(_Keyed):
    pass


class _Items(list):
    pass


def test_perfkit_key_includes_the_class(db):
    assert _Keyed(1).label() == "_Keyed(1)"
    assert _OtherKeyed(1).label() == "_OtherKeyed(1)"


def test_perfkit_key_includes_the_class_on_every_backend(alias):
    class Base:
        def __init__(self, n):
            self.n = n

        def __perfkit_key__(self):
            return self.n

        @cached(timeout=60, cache=alias, name=f"tests.keyed_label.{alias}")
        def label(self):
            return f"{type(self).__name__}({self.n})"

    class Child(Base):
        pass

    for _ in range(2):  # computed, then served
        assert Base(1).label() == "Base(1)"
        assert Child(1).label() == "Child(1)"
        assert Base(2).label() == "Base(2)"


def test_a_list_subclass_and_a_tuple_have_different_keys(alias):
    @cached(timeout=60, cache=alias)
    def kind(items):
        return type(items).__name__

    assert kind((1, 2)) == "tuple"
    assert kind(_Items([1, 2])) == "_Items"
    assert kind([1, 2]) == "list"


# -- JSON-serializing caches (issue 14) -----------------------------------------------------------
@pytest.fixture
def json_alias(redis_cache, settings):
    settings.CACHES = {
        **settings.CACHES,
        "json": {
            **settings.CACHES["redis"],
            "OPTIONS": {
                **settings.CACHES["redis"]["OPTIONS"],
                "SERIALIZER": "django_redis.serializers.json.JSONSerializer",
            },
        },
    }
    return "json"


def test_a_json_serializing_cache_keeps_caching(db, json_alias, signal_log):
    calls = []

    @cached(timeout=60, cache=json_alias)
    def shape(x):
        calls.append(x)
        return {"t": (x, b"\x00raw"), "l": [1.5, None], 3: "int key"}

    expected = {"t": (2, b"\x00raw"), "l": [1.5, None], 3: "int key"}
    assert shape(2) == expected
    assert shape(2) == expected  # a hit, with tuples, bytes and int keys intact
    assert calls == [2]
    assert "cache_error" not in signal_log.names()


def test_a_json_cache_names_a_value_json_cannot_carry(db, json_alias, signal_log):
    import decimal

    @cached(timeout=60, cache=json_alias)
    def price():
        return decimal.Decimal("1.50")

    assert price() == decimal.Decimal("1.50")  # computed; the cache failure is reported
    error = next(kw["error"] for name, kw in signal_log if name == "cache_error")
    assert "decimal.Decimal" in str(error)
    assert "JSON serializer" in str(error)


def test_cached_view_on_a_json_cache(db, json_alias):
    from django.http import HttpResponse
    from django.test import RequestFactory

    from perfkit.cache import cached_view

    calls = []

    @cached_view(60, cache=json_alias)
    def page(request):
        calls.append(1)
        return HttpResponse(b"hello \xff", headers={"X-A": "b"})

    first, second = page(RequestFactory().get("/")), page(RequestFactory().get("/"))
    assert first.content == second.content == b"hello \xff"
    assert second["X-A"] == "b"
    assert calls == [1]


# -- a failing refresh serves the cached value (issue 14) -----------------------------------------
@pytest.mark.parametrize("mode", ["stale", "early"])
def test_a_failing_refresh_serves_the_cached_value(alias, signal_log, mode, settings):
    from perfkit.cache import clock

    # the refresh in the request (tests/cache/test_swr.py: a failing background refresh)
    settings.PERFKIT = {**settings.PERFKIT, "REFRESH_THREADS": 0}
    fail = []

    @cached(timeout=10, cache=alias, stale=30 if mode == "stale" else None)
    def f():
        if fail:
            raise RuntimeError("database down")
        return "value"

    with clock.use(clock.FakeClock()) as fake:
        assert f() == "value"
        fail.append(1)
        # stale: past the soft expiry; early: just before it, where XFetch refreshes
        fake.advance(10.5 if mode == "stale" else 9.999999)
        f._stats.compute_time = 1e6  # XFetch: a slow function refreshes early for sure
        if mode == "early":
            f._begin((), {})  # resolve, then force the early refresh
            f._resolved = f._resolved._replace(beta=1e9)
        assert f() == "value"
    errors = [kw for name, kw in signal_log if name == "cache_error"]
    assert [(e["operation"], str(e["error"])) for e in errors] == [("refresh", "database down")]
    assert stats(f)[f.perfkit_name]["errors"] == 1
