"""Deploy system checks perfkit.E201-E204 and W201-W206: one test per id."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from perfkit.backends import cache_url
from perfkit.backends.checks import check_backends
from perfkit.backends.findings import worker_processes
from tests.backends.servers import free_port

JSON = "django_redis.serializers.json.JSONSerializer"
NO_CELERY = {"CELERY_BROKER_URL": "", "CELERY_RESULT_BACKEND": ""}
SAFE_REDIS = "redis://:pw@127.0.0.1:6379/11"
# perfkit's backend configured by hand (what cache_url gives, minus the checks' subjects)
PLAIN = {
    "BACKEND": "perfkit.backends.resilient.RedisCache",
    "LOCATION": SAFE_REDIS,
    "KEY_PREFIX": settings.TEST_KEY_PREFIX,
    "OPTIONS": {"SOCKET_TIMEOUT": 1, "SOCKET_CONNECT_TIMEOUT": 1},
}


def ids(caches: dict, **extra) -> list[str]:
    with override_settings(CACHES=caches, **{**NO_CELERY, **extra}):
        return sorted(m.id for m in check_backends())


@pytest.fixture(autouse=True)
def _no_worker_env(monkeypatch):
    for name in ("WEB_CONCURRENCY", "UWSGI_PROCESSES", "UWSGI_WORKERS", "GUNICORN_CMD_ARGS"):
        monkeypatch.delenv(name, raising=False)


def test_e201_cache_round_trip_fails():
    caches = {"default": cache_url(f"redis://:pw@127.0.0.1:{free_port()}/0")}
    assert ids(caches) == ["perfkit.E201"]


@pytest.mark.django_db
def test_e202_missing_cache_table():
    with override_settings(CACHES={"default": cache_url("db://perfkit_not_there")}, **NO_CELERY):
        [message] = check_backends()
    assert message.id == "perfkit.E202"
    assert message.hint == "run `python manage.py createcachetable`"
    assert message.is_serious()


def test_e203_and_e204_celery_unreachable():
    url = f"redis://127.0.0.1:{free_port()}/0"
    caches = {"default": cache_url("dummy://")}
    assert ids(caches, CELERY_BROKER_URL=url, CELERY_RESULT_BACKEND=url) == [
        "perfkit.E203",
        "perfkit.E204",
    ]
    # always-eager Celery needs no broker
    assert ids(caches, CELERY_BROKER_URL=url, CELERY_TASK_ALWAYS_EAGER=True) == []


@pytest.mark.redis
def test_no_celery_finding_when_broker_answers():
    url = "redis://127.0.0.1:6379/12"
    caches = {"default": cache_url("dummy://")}
    assert ids(caches, CELERY_BROKER_URL=url, CELERY_RESULT_BACKEND=url) == []


def test_w201_locmem_behind_several_workers(monkeypatch):
    caches = {"default": cache_url("locmem://")}
    assert ids(caches) == []
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    with override_settings(CACHES=caches, **NO_CELERY):
        [message] = check_backends()
    assert message.id == "perfkit.W201"
    assert message.msg == (
        "Cache 'default' is a LocMemCache, private to each process, but this site runs 4 web "
        "worker processes (WEB_CONCURRENCY=4): each process keeps its own copy, and perfkit's "
        "invalidation and warming reach only one of them."
    )


def test_w201_locmem_with_celery_workers():
    caches = {"default": cache_url("locmem://")}
    broker = {"CELERY_BROKER_URL": "redis://127.0.0.1:6379/12"}
    with override_settings(CACHES=caches, **broker):
        found = [m for m in check_backends() if m.id == "perfkit.W201"]
    assert "but this site runs Celery workers:" in found[0].msg


@pytest.mark.parametrize(
    ("env", "value", "expected"),
    [
        ("GUNICORN_CMD_ARGS", "--bind 0.0.0.0 -w 3", (3, "GUNICORN_CMD_ARGS -w")),
        ("GUNICORN_CMD_ARGS", "--workers=5", (5, "GUNICORN_CMD_ARGS --workers=5")),
        ("UWSGI_PROCESSES", "8", (8, "UWSGI_PROCESSES=8")),
        ("WEB_CONCURRENCY", "many", (1, "")),
    ],
)
def test_worker_processes_sources(monkeypatch, env, value, expected):
    monkeypatch.setenv(env, value)
    assert worker_processes() == expected


@pytest.mark.redis
def test_w202_no_key_prefix_on_a_shared_redis():
    one = {**PLAIN, "KEY_PREFIX": ""}
    assert ids({"default": one}) == []  # alone on its database
    assert ids({"default": one, "sessions": PLAIN}) == ["perfkit.W202"]
    with override_settings(
        CACHES={"default": one}, CELERY_BROKER_URL=SAFE_REDIS.replace(":pw", "")
    ):
        messages = [m for m in check_backends() if m.id == "perfkit.W202"]
    assert messages[0].msg == (
        "Cache 'default' has no KEY_PREFIX on a Redis database it shares with the Celery "
        "broker: keys can collide and clear() empties theirs too."
    )


@pytest.mark.redis
def test_w203_pickle_without_password():
    no_password = {**PLAIN, "LOCATION": "redis://127.0.0.1:6379/11"}
    assert ids({"default": no_password}) == ["perfkit.W203"]
    json_values = {**no_password, "OPTIONS": {**PLAIN["OPTIONS"], "SERIALIZER": JSON}}
    assert ids({"default": json_values}) == []
    acl_user = {**no_password, "OPTIONS": {**PLAIN["OPTIONS"], "USERNAME": "app"}}
    assert ids({"default": acl_user}) == []


def test_w203_says_what_it_knows_the_url_has_no_password():
    no_password = {**PLAIN, "LOCATION": "redis://127.0.0.1:6379/11"}
    with override_settings(CACHES={"default": no_password}, **NO_CELERY):
        [message] = [m for m in check_backends() if m.id == "perfkit.W203"]
    assert "needs no password" not in message.msg
    assert "its settings give no password or ACL user" in message.msg


def test_w207_cache_key_prefix_repeats_perfkits():
    doubled = {"BACKEND": "django.core.cache.backends.dummy.DummyCache", "KEY_PREFIX": "shop"}
    with override_settings(PERFKIT={"KEY_PREFIX": "shop"}):
        assert ids({"default": doubled}) == ["perfkit.W207"]
    assert ids({"default": doubled}) == []  # PERFKIT["KEY_PREFIX"] at its default "pk"


@pytest.mark.parametrize(
    "location", ["redis://127.0.0.1:port/5", "redis://:p@ss@127.0.0.1:99999/0"]
)
def test_a_bad_port_written_by_hand_is_an_e201_not_a_crash(location):
    # cache_url() refuses these; a hand-written CACHES entry still reaches the checks
    bad = {**PLAIN, "LOCATION": location}
    out = StringIO()
    with override_settings(CACHES={"default": bad}, **NO_CELERY):
        messages = check_backends()
        with pytest.raises(SystemExit):  # exit status 1: an error found
            call_command("perfkit_doctor", "--json", stdout=out)
    assert "perfkit.E201" in [m.id for m in messages]
    assert all("p@ss" not in m.msg for m in messages)
    report = json.loads(out.getvalue())
    assert [f["id"] for f in report["findings"] if f["level"] == "error"] == ["perfkit.E201"]


@pytest.mark.redis
def test_w204_no_socket_timeouts():
    assert ids({"default": {**PLAIN, "OPTIONS": {}}}) == ["perfkit.W204"]
    assert ids({"default": cache_url(SAFE_REDIS)}) == []


@pytest.mark.redis
def test_w205_and_w206_django_builtin_redis():
    builtin = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": SAFE_REDIS,
        "KEY_PREFIX": settings.TEST_KEY_PREFIX,
        "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1},
    }
    assert ids({"default": builtin}) == ["perfkit.W205", "perfkit.W206"]
    assert ids({"default": cache_url(SAFE_REDIS + "?backend=django")}) == []


@pytest.mark.redis
def test_w206_plain_django_redis_has_no_breaker():
    assert ids({"default": PLAIN}) == []
    plain = {**PLAIN, "BACKEND": "django_redis.cache.RedisCache"}
    assert ids({"default": plain}) == ["perfkit.W206"]


def test_check_command_fails_on_errors_and_passes_when_healthy():
    bad = {"default": cache_url(f"redis://:pw@127.0.0.1:{free_port()}/0")}
    with override_settings(CACHES=bad, **NO_CELERY), pytest.raises(SystemCheckError) as info:
        call_command("check", "--deploy", "--tag", "perfkit")
    assert "perfkit.E201" in str(info.value)
    # (ids of other perfkit areas are left out: their tests may leave registrations behind)
    with override_settings(CACHES={"default": cache_url("locmem://")}, **NO_CELERY):
        assert backend_ids(run_checks(tags=["perfkit"], include_deployment_checks=True)) == []
    with override_settings(CACHES=bad, **NO_CELERY):
        assert backend_ids(run_checks(tags=["perfkit"])) == []  # not a deploy run: no probes


def backend_ids(messages) -> list[str]:
    return [m.id for m in messages if m.id.startswith(("perfkit.E2", "perfkit.W2"))]


def test_settings_module_caches_are_untouched():
    # the checks read CACHES; they never rewrite it
    before = repr(settings.CACHES)
    ids({"default": PLAIN})
    assert repr(settings.CACHES) == before
