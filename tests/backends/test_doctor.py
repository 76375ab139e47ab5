"""perfkit_doctor on a healthy setup, a missing cache table and an unreachable Redis."""

from __future__ import annotations

import json
import time
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings

from perfkit.backends import cache_url
from tests.backends.servers import free_port

PREFIX = settings.TEST_KEY_PREFIX
NO_CELERY = {"CELERY_BROKER_URL": "", "CELERY_RESULT_BACKEND": ""}


def doctor(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("perfkit_doctor", *args, stdout=out, no_color=True)
    except SystemExit as exc:
        return int(exc.code), out.getvalue()
    return 0, out.getvalue()


@pytest.fixture
def cache_table(db):
    call_command("createcachetable", "perfkit_doctor_cache", verbosity=0)


HEALTHY = {
    "default": cache_url("locmem://doctor"),
    "redis": cache_url(f"redis://127.0.0.1:6379/11?key_prefix={PREFIX}&serializer=json"),
    "db": cache_url(f"db://perfkit_doctor_cache?key_prefix={PREFIX}"),
}


@pytest.mark.redis
def test_healthy_setup(cache_table):
    with override_settings(CACHES=HEALTHY, **NO_CELERY):
        code, out = doctor()
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "cache 'default'    locmem               doctor"
    assert lines[2] == "cache 'redis'      django-redis         redis://127.0.0.1:6379/11"
    assert lines[4] == "cache 'db'         db                   perfkit_doctor_cache"
    for line in (lines[1], lines[3], lines[5]):
        assert line.startswith("    ok  connect ")
        assert " ms  set " in line
        assert " ms  get " in line
        assert " ms  delete " in line
    assert lines[-1] == "0 error(s), 0 warning(s)."


@pytest.mark.redis
def test_json_output(cache_table):
    with override_settings(CACHES=HEALTHY, **NO_CELERY):
        code, out = doctor("--json", "--cache", "redis")
    report = json.loads(out)
    assert code == 0
    assert report["ok"] is True
    assert report["findings"] == []
    assert report["services"] == []
    [probe] = report["caches"]
    assert probe["alias"] == "redis"
    assert probe["ok"] is True
    assert sorted(probe["latency_ms"]) == ["connect", "delete", "get", "set"]
    assert all(ms > 0 for ms in probe["latency_ms"].values())


@pytest.mark.django_db
def test_missing_cache_table():
    caches = {"default": cache_url("db://perfkit_never_created")}
    with override_settings(CACHES=caches, **NO_CELERY):
        code, out = doctor()
    assert code == 1
    assert out.splitlines() == [
        "cache 'default'    db                   perfkit_never_created",
        "    FAILED  table 'perfkit_never_created' does not exist",
        "perfkit.E202: Cache 'default' is a DatabaseCache whose table 'perfkit_never_created' "
        "does not exist: every cache call fails.",
        "    HINT: run `python manage.py createcachetable`",
        "1 error(s), 0 warning(s).",
    ]


def test_unreachable_redis_fails_fast():
    port = free_port()  # nothing listens there
    caches = {"default": cache_url(f"redis://127.0.0.1:{port}/0?password=x")}
    start = time.perf_counter()
    with override_settings(CACHES=caches, **NO_CELERY):
        code, out = doctor("--json")
    assert time.perf_counter() - start < 3
    report = json.loads(out)
    assert code == 1
    [finding] = report["findings"]
    assert finding["id"] == "perfkit.E201"
    assert finding["message"].startswith(
        f"Cache 'default' (redis://127.0.0.1:{port}/0) failed a set/get/delete round trip: "
        "CacheUnavailable: cache RedisCache(redis://127.0.0.1:"
    )
    assert "Connection refused" in finding["message"]
    assert report["caches"][0]["ok"] is False


def test_unreachable_celery_broker():
    port = free_port()
    celery = {
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/0",
        "CELERY_RESULT_BACKEND": "django-db",
    }
    with override_settings(CACHES={"default": cache_url("dummy://")}, **celery):
        code, out = doctor()
    assert code == 1
    assert f"celery broker         redis://127.0.0.1:{port}/0\n    FAILED  ConnectionError" in out
    assert "celery result backend django-db\n    ok" in out
    assert f"perfkit.E203: The Celery broker redis://127.0.0.1:{port}/0 does not answer: " in out


def test_unknown_alias():
    with pytest.raises(CommandError) as info:
        call_command("perfkit_doctor", "--cache", "nope")
    assert str(info.value) == "Unknown cache alias 'nope'; CACHES has: default, redis, db."


@pytest.mark.redis
def test_tiered_alias_is_probed_through_its_shared_cache(redis_cache):
    caches = {
        **settings.CACHES,
        "tiered": {"BACKEND": "perfkit.backends.TieredCache", "LOCATION": "redis"},
    }
    with override_settings(CACHES=caches, **NO_CELERY):
        code, out = doctor("--json", "--cache", "tiered")
    [probe] = json.loads(out)["caches"]
    assert (code, probe["kind"], probe["ok"]) == (0, "tiered", True)


@pytest.mark.rabbitmq
def test_amqp_broker_reachable_and_refused():
    cache = {"default": cache_url("dummy://")}
    good = {"CELERY_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//"}
    with override_settings(CACHES=cache, CELERY_RESULT_BACKEND="", **good):
        code, out = doctor("--json")
    assert code == 0
    assert json.loads(out)["services"][0]["ok"] is True
    bad = {"CELERY_BROKER_URL": f"amqp://guest:guest@127.0.0.1:{free_port()}//"}
    start = time.perf_counter()
    with override_settings(CACHES=cache, CELERY_RESULT_BACKEND="", **bad):
        code, out = doctor("--json")
    assert time.perf_counter() - start < 2  # one attempt, no retry loop
    assert code == 1
    [finding] = json.loads(out)["findings"]
    assert finding["id"] == "perfkit.E203"
    assert finding["message"].endswith(
        "does not answer: OperationalError: [Errno 111] Connection refused"
    )


def test_the_breaker_and_its_failed_open_calls_are_reported():
    """In a long-running process (a health view calling diagnose()), the doctor shows how many
    calls got the fail-open default while the server was down."""
    from django.core.cache import caches as django_caches

    from perfkit.backends.doctor import diagnose

    port = free_port()  # nothing listens there
    caches_setting = {
        "default": cache_url("locmem://doctor-breaker"),
        "down": cache_url(f"redis://127.0.0.1:{port}/0?key_prefix={PREFIX}-breaker"),
    }
    with override_settings(CACHES=caches_setting, **NO_CELERY):
        down = django_caches["down"]
        for _ in range(7):
            assert down.get("anything", "fallback") == "fallback"  # fail-open
        result = diagnose(["down", "default"])
        probes = {probe.alias: probe for probe in result.caches}
        assert probes["default"].breaker is None  # plain locmem has no breaker
        report = probes["down"].breaker
        assert report is not None
        assert report["state"] == "open"
        assert report["failed_open"] >= 7
        assert "ConnectionError" in report["last_error"]
        code, out = doctor("--cache", "down")
    assert code == 1
    assert "breaker open, " in out.splitlines()[1]
    assert " call(s) failed open" in out.splitlines()[1]
