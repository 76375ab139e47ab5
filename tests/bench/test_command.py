from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import CommandError, call_command

from demo_project.bookstore.models import Author, Book
from perfkit.bench import scenario

EXTRA = {"queries": 0}
SETUP_CALLS: list[str] = []


def counted() -> None:
    """One query, plus EXTRA["queries"] more (the "deliberately added query")."""
    list(Book.objects.order_by("id")[:1])
    for _ in range(EXTRA["queries"]):
        Author.objects.count()


def cache_using() -> None:
    """Reads through the cache: a miss and a set cold, a hit warm."""
    if cache.get("bench-test") is None:
        cache.set("bench-test", Book.objects.count())


def cached_count() -> int:
    from perfkit.cache import cached

    global _cached_count
    if _cached_count is None:

        @cached(timeout=60, depends_on=[Book])
        def count_books() -> int:
            return Book.objects.count()

        _cached_count = count_books
    return _cached_count()


_cached_count = None


async def async_counted() -> int:
    return await Book.objects.acount() + await Author.objects.acount()


def broken() -> None:
    raise ValueError("boom")


@pytest.fixture
def bench_scenarios(clean_registry):
    scenario("t-counted", tags=["t"])(counted)
    scenario("t-cache", setup=lambda: SETUP_CALLS.append("setup"), tags=["t"])(cache_using)
    scenario("t-broken")(broken)
    scenario("t-cached")(cached_count)
    scenario("t-async")(async_counted)
    scenario("t-page", url="/books/?size=5", tags=["t"])
    scenario("t-page-user", url="/books/?size=5", user="bench-user")
    scenario("t-missing", url="/no/such/page/")
    EXTRA["queries"] = 0
    SETUP_CALLS.clear()


def bench(*args, **options):
    out, err = io.StringIO(), io.StringIO()
    options.setdefault("backends", "locmem")
    options.setdefault("repeat", 2)
    options.setdefault("warmup", 0)
    call_command("perfkit_bench", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def results(path):
    data = json.loads(path.read_text())
    return data, {(r["scenario"], r["backend"], r["mode"]): r for r in data["results"]}


pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("bench_scenarios")]


def test_json_schema(tmp_path, bookstore):
    path = tmp_path / "bench.json"
    bench("t-counted", "t-cache", json=str(path), repeat=3, warmup=1)
    data, rows = results(path)
    assert set(data) == {
        "schema",
        "created",
        "machine",
        "options",
        "backends",
        "skipped",
        "results",
    }
    assert data["schema"] == "perfkit-bench/1"
    assert set(data["machine"]) == {
        "python",
        "implementation",
        "django",
        "perfkit",
        "platform",
        "machine",
        "cpu_count",
        "database",
        "executable",
    }
    assert data["machine"]["cpu_count"] >= 1
    assert data["options"] == {"repeat": 3, "warmup": 1, "modes": ["cold", "warm"]}
    assert data["backends"] == {
        "locmem": {"backend": "django.core.cache.backends.locmem.LocMemCache"}
    }
    assert data["skipped"] == []
    assert list(rows) == [
        ("t-counted", "locmem", "cold"),
        ("t-counted", "locmem", "warm"),
        ("t-cache", "locmem", "cold"),
        ("t-cache", "locmem", "warm"),
    ]
    row = rows["t-counted", "locmem", "cold"]
    assert set(row) == {
        "scenario",
        "kind",
        "target",
        "tags",
        "backend",
        "mode",
        "queries",
        "cache",
        "perfkit",
        "time_ms",
        "speedup",
        "error",
    }
    assert row["kind"] == "callable"
    assert row["target"] == "tests.bench.test_command.counted"
    assert row["tags"] == ["t"]
    assert row["queries"] == {
        "count": 1,
        "duplicates": 0,
        "duplicate_groups": [],
        "nplusone": [],
        "cache_sql": 0,
        "by_alias": {"default": 1},
    }
    assert set(row["time_ms"]) == {"p50", "p95", "p99", "min", "max", "mean", "runs"}
    assert row["time_ms"]["runs"] == 3
    assert row["time_ms"]["min"] <= row["time_ms"]["p50"] <= row["time_ms"]["p99"]
    assert row["error"] is None
    # no cache involved: cold and warm are the same work, no speed-up is claimed
    assert rows["t-counted", "locmem", "warm"]["speedup"] is None
    assert rows["t-cache", "locmem", "cold"]["speedup"] is None
    assert rows["t-cache", "locmem", "warm"]["speedup"] > 0


def test_cold_empties_the_cache_and_warm_keeps_it(tmp_path, bookstore):
    path = tmp_path / "bench.json"
    bench("t-cache", json=str(path), repeat=2, warmup=1)
    _, rows = results(path)
    cold, warm = rows["t-cache", "locmem", "cold"], rows["t-cache", "locmem", "warm"]
    assert (cold["queries"]["count"], cold["cache"]) == (
        1,
        {"hits": 0, "misses": 1, "sets": 1, "deletes": 0},
    )
    assert (warm["queries"]["count"], warm["cache"]) == (
        0,
        {"hits": 1, "misses": 0, "sets": 0, "deletes": 0},
    )
    # setup runs before every run: cold 1 captured + 1 warm-up + 2 timed; warm 1 more to fill
    assert len(SETUP_CALLS) == 4 + 5


def test_demo_naive_list_shows_its_nplusone_and_optimised_is_constant(tmp_path, bookstore):
    path = tmp_path / "bench.json"
    out, _ = bench("list-naive", "list-optimised", "page-list-naive", json=str(path), cold=True)
    _, rows = results(path)
    naive = rows["list-naive", "locmem", "cold"]["queries"]
    assert naive["count"] == 1 + 4 * 30
    groups = {g["fingerprint"]: g for g in naive["nplusone"]}
    assert len(groups) == 4
    author = next(g for f, g in groups.items() if "FROM bookstore_author" in f)
    assert author["count"] == 30
    assert author["locations"] == ["demo_project/bookstore/services.py:29 in _book_row"]
    assert rows["list-optimised", "locmem", "cold"]["queries"]["count"] == 2
    assert rows["list-optimised", "locmem", "cold"]["queries"]["nplusone"] == []
    assert rows["page-list-naive", "locmem", "cold"]["queries"]["count"] == 1 + 4 * 30
    assert "N+1 query groups:" in out
    assert "list-naive: 30x `SELECT" in out
    assert ("list-naive", "locmem", "warm") not in rows


@pytest.mark.parametrize("backend", ["locmem", "db"])
def test_demo_cached_variants_have_zero_queries_warm(tmp_path, bookstore, backend):
    path = tmp_path / "bench.json"
    bench("list-cached", "page-list-cached", "api-books-cached", backends=backend, json=str(path))
    _, rows = results(path)
    for name in ("list-cached", "page-list-cached", "api-books-cached"):
        cold, warm = rows[name, backend, "cold"], rows[name, backend, "warm"]
        assert cold["error"] is None, cold["error"]
        assert warm["error"] is None, warm["error"]
        assert cold["queries"]["count"] == 2, name
        assert cold["perfkit"]["misses"] >= 1, name
        assert warm["queries"]["count"] == 0, name
        assert warm["perfkit"]["misses"] == 0, name
        assert warm["perfkit"]["hits"] == 1, name
        assert warm["speedup"] > 0


def test_optimised_count_does_not_grow_with_the_page(tmp_path, bookstore):
    from demo_project.bookstore import services
    from perfkit.testing import capture_queries

    counts = []
    for size in (5, 30):
        with capture_queries() as log:
            services.book_list_optimised(1, size)
        counts.append(log.count())
    assert counts == [2, 2]


@pytest.mark.parametrize("backend", ["locmem", "db"])
def test_perfkit_cached_function_has_zero_queries_warm(tmp_path, bookstore, backend):
    path = tmp_path / "bench.json"
    bench("t-cached", backends=backend, json=str(path))
    _, rows = results(path)
    cold, warm = rows["t-cached", backend, "cold"], rows["t-cached", backend, "warm"]
    assert cold["error"] is None, cold["error"]
    assert cold["queries"]["count"] == 1
    assert (cold["perfkit"]["misses"], cold["perfkit"]["hits"]) == (1, 0)
    assert cold["cache"]["sets"] >= 1
    assert warm["queries"]["count"] == 0
    assert (warm["perfkit"]["misses"], warm["perfkit"]["hits"]) == (0, 1)
    assert warm["cache"]["misses"] == 0


def test_async_scenario(tmp_path, bookstore):
    path = tmp_path / "bench.json"
    bench("t-async", json=str(path), cold=True)
    _, rows = results(path)
    row = rows["t-async", "locmem", "cold"]
    assert row["error"] is None, row["error"]
    assert row["queries"]["count"] == 2
    assert row["time_ms"]["runs"] == 2


def test_baseline_with_an_added_query_exits_1(tmp_path, bookstore):
    base = tmp_path / "base.json"
    bench("t-counted", json=str(base))
    # unchanged code passes against its own baseline (time tolerance made irrelevant here)
    bench("t-counted", baseline=str(base), tolerance=10_000)
    EXTRA["queries"] = 1
    with pytest.raises(CommandError) as info:
        bench("t-counted", baseline=str(base), tolerance=10_000)
    assert info.value.returncode == 1
    assert str(info.value) == (
        f"2 regression(s) against {base}: t-counted on locmem (cold): 1 -> 2 queries (+1); "
        "t-counted on locmem (warm): 1 -> 2 queries (+1)"
    )


def test_baseline_report_lists_the_increase(tmp_path, bookstore):
    base, now, md = tmp_path / "base.json", tmp_path / "now.json", tmp_path / "pr.md"
    bench("t-counted", json=str(base), cold=True)
    EXTRA["queries"] = 2
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "perfkit_bench",
            "t-counted",
            backends="locmem",
            repeat=2,
            warmup=0,
            cold=True,
            baseline=str(base),
            tolerance=10_000,
            json=str(now),
            markdown=str(md),
            stdout=out,
        )
    lines = out.getvalue().splitlines()
    assert "REGRESSION t-counted on locmem (cold): 1 -> 3 queries (+2)" in lines
    assert lines[-1] == (
        f"Compared 1 measurements with {base}: 1 query-count increase, 0 time regressions, "
        "0 improvements, 0 new, 0 gone."
    )
    data = json.loads(now.read_text())
    assert data["baseline"]["failed"] is True
    assert "- REGRESSION t-counted on locmem (cold): 1 -> 3 queries (+2)" in md.read_text()


def test_unreachable_redis_is_skipped_with_one_line(tmp_path, bookstore):
    path = tmp_path / "bench.json"
    out, err = bench(
        "t-counted",
        backends="locmem,redis",
        redis_url="redis://127.0.0.1:1/0",
        json=str(path),
        cold=True,
    )
    skipped = [line for line in (out + err).splitlines() if "redis" in line]
    assert len(skipped) == 1
    assert skipped[0].startswith("skipped redis: redis://127.0.0.1:1/0 is not reachable (")
    assert skipped[0] in out.splitlines()  # under the table
    data, rows = results(path)
    assert [s["backend"] for s in data["skipped"]] == ["redis"]
    assert list(rows) == [("t-counted", "locmem", "cold")]


def test_only_unreachable_backends_fail_and_hide_the_password(bookstore):
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command(
            "perfkit_bench",
            "t-counted",
            backends="redis",
            redis_url="redis://:s3cret@127.0.0.1:1/0",
            stdout=out,
            stderr=err,
        )
    assert str(info.value).startswith(
        "Nothing was measured: every backend was skipped (redis: redis://:***@127.0.0.1:1/0 "
        "is not reachable ("
    )
    assert str(info.value).endswith("). Start the server or choose other --backends.")
    assert "s3cret" not in out.getvalue() + err.getvalue() + str(info.value)
    assert "skipped redis: redis://:***@127.0.0.1:1/0 is not reachable" in out.getvalue()


def test_db_backend_does_not_count_the_cache_sql(tmp_path, bookstore):
    path = tmp_path / "bench.json"
    bench("t-cache", backends="db", json=str(path))
    data, rows = results(path)
    cold, warm = rows["t-cache", "db", "cold"], rows["t-cache", "db", "warm"]
    assert cold["queries"]["count"] == 1
    assert cold["queries"]["cache_sql"] >= 2  # the get and the set
    assert warm["queries"]["count"] == 0
    assert warm["cache"]["hits"] == 1
    assert data["backends"]["db"]["database"]["vendor"] in {"sqlite", "postgresql"}


@pytest.mark.redis
def test_redis_backend(tmp_path, bookstore, settings):
    import os

    import redis

    path = tmp_path / "bench.json"
    url = settings.REDIS_URL
    bench("t-cache", backends="redis", redis_url=url, json=str(path))
    data, rows = results(path)
    assert rows["t-cache", "redis", "warm"]["cache"]["hits"] == 1
    assert rows["t-cache", "redis", "warm"]["queries"]["count"] == 0
    assert data["backends"]["redis"]["server"]
    client = redis.Redis.from_url(url)
    assert list(client.scan_iter(match=f"perfkit-bench-{os.getpid()}:*")) == []


def test_page_scenarios_and_login(tmp_path, bookstore):
    get_user_model().objects.create_user("bench-user")
    path = tmp_path / "bench.json"
    bench("t-page", "t-page-user", json=str(path), cold=True)
    _, rows = results(path)
    assert rows["t-page", "locmem", "cold"]["kind"] == "url"
    assert rows["t-page", "locmem", "cold"]["queries"]["count"] == 2
    assert rows["t-page-user", "locmem", "cold"]["error"] is None


def test_failures_are_reported_and_exit_1(tmp_path, bookstore):
    path = tmp_path / "bench.json"
    out = io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command(
            "perfkit_bench",
            "t-broken",
            "t-missing",
            "t-page-user",
            "t-counted",
            backends="locmem",
            repeat=1,
            warmup=0,
            cold=True,
            json=str(path),
            stdout=out,
            stderr=io.StringIO(),
        )
    assert info.value.returncode == 1
    assert str(info.value) == (
        "3 scenario run(s) failed: t-broken on locmem (cold): ValueError: boom; "
        "t-missing on locmem (cold): ScenarioFailed: GET /no/such/page/ answered 404; "
        "t-page-user on locmem (cold): ScenarioFailed: scenario 't-page-user' logs in as "
        "'bench-user', but there is no such user. Create it (e.g. in the scenario's setup=) "
        "or fix scenario(user=...)."
    )
    _, rows = results(path)
    assert rows["t-counted", "locmem", "cold"]["error"] is None  # the others still ran
    assert "FAILED t-broken on locmem (cold): ValueError: boom" in out.getvalue().splitlines()


def test_list_and_tags(bookstore):
    out, _ = bench(list=True, tag=["t"])
    assert out.splitlines() == [
        "t-counted: tests.bench.test_command.counted [t]",
        "t-cache: tests.bench.test_command.cache_using [t]",
        "t-page: /books/?size=5 [t]",
    ]


@pytest.mark.parametrize(
    ("args", "options", "message"),
    [
        (
            ("t-countd",),
            {},
            "No perfkit scenario is named 't-countd'. Did you mean 't-counted'?",
        ),
        (
            ("t-counted",),
            {"backends": "locmem,memcached"},
            "--backends: unknown backend 'memcached'. Use a comma-separated list of locmem, db, "
            "redis.",
        ),
        (("t-counted",), {"backends": ","}, "--backends ',' names no backend."),
        (
            ("t-counted",),
            {"backends": "redis", "redis_url": "db://x"},
            "--redis-url 'db://x' is not a Redis URL. Use redis://host:port/db (or rediss:// "
            "or unix://).",
        ),
        (("t-counted",), {"tolerance": -1}, "--tolerance must be >= 0 percent, got -1."),
        ((), {"tag": ["nothing-has-this"]}, "No perfkit scenario to run: none is registered"),
    ],
)
def test_bad_arguments(args, options, message, bookstore):
    with pytest.raises(CommandError) as info:
        bench(*args, **options)
    assert str(info.value).startswith(message)


def test_repeat_must_be_positive():
    with pytest.raises(CommandError) as info:
        call_command("perfkit_bench", "--repeat", "0")
    assert "argument --repeat: invalid whole number >= 1 value: '0'" in str(info.value)


def test_an_unmigrated_database_says_once_what_to_run(bookstore):
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    MigrationRecorder(connection).record_unapplied("bookstore", "0001_initial")
    with pytest.raises(CommandError) as info:
        bench("t-counted", "t-page")
    assert str(info.value) == (
        "The database has 1 unapplied migration (bookstore.0001_initial), so every scenario "
        "would fail on a missing table. Run `python manage.py migrate` first. Then load the "
        "data the scenarios read (this project: `python manage.py seed_demo`)."
    )


def test_the_database_cache_table_is_gone_after_the_run(tmp_path, bookstore):
    from django.db import connection

    from perfkit.bench.backends import DB_CACHE_TABLE

    assert DB_CACHE_TABLE not in connection.introspection.table_names()
    bench("t-cache", backends="db")
    assert DB_CACHE_TABLE not in connection.introspection.table_names()
    call_command("createcachetable", DB_CACHE_TABLE, verbosity=0)  # the user's own: it stays
    bench("t-cache", backends="db")
    assert DB_CACHE_TABLE in connection.introspection.table_names()


def test_the_demo_on_an_unmigrated_database(tmp_path):
    """The case as a new user meets it: `manage.py perfkit_bench` before `migrate`."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}"}
    for name in ("DJANGO_SETTINGS_MODULE", "REDIS_URL", "CACHE_URL"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "manage.py", "perfkit_bench", "--repeat", "1", "--warmup", "0"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "no such table" not in done.stdout + done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("CommandError: The database has ")
    assert last.endswith(
        "so every scenario would fail on a missing table. Run `python manage.py migrate` "
        "first. Then load the data the scenarios read (this project: `python manage.py "
        "seed_demo`)."
    )
