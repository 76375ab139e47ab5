"""perfkit.E301 and perfkit.W301."""

from __future__ import annotations

import pytest
from celery import Celery
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from perfkit.warming.checks import check_time_limits, visibility_messages


def app_with(url: str, **options) -> Celery:
    app = Celery("perfkit_check_tests", set_as_current=False)
    app.conf.broker_url = url
    app.conf.broker_transport_options = options
    return app


def test_w301_redis_visibility_timeout_shorter_than_the_time_limit(settings):
    settings.PERFKIT = {"WARMING_TIME_LIMIT": 600, "WARMING_SOFT_TIME_LIMIT": 500}
    [msg] = visibility_messages(app_with("redis://127.0.0.1:6379/12", visibility_timeout=300))
    assert msg.id == "perfkit.W301"
    assert msg.msg == (
        "Celery's Redis visibility_timeout (300 s) is not longer than "
        "PERFKIT['WARMING_TIME_LIMIT'] (600 s): a perfkit task that is still running when it "
        "expires is delivered again (perfkit's tasks are acks_late) and runs twice."
    )
    assert msg.hint == (
        "Set broker_transport_options['visibility_timeout'] above 600 (for example 1200), "
        "or lower PERFKIT['WARMING_TIME_LIMIT']."
    )


def test_w301_is_quiet_for_long_timeouts_and_for_rabbitmq(settings):
    settings.PERFKIT = {"WARMING_TIME_LIMIT": 600, "WARMING_SOFT_TIME_LIMIT": 500}
    assert visibility_messages(app_with("redis://127.0.0.1:6379/12")) == []  # default 3600
    assert visibility_messages(app_with("amqp://guest@127.0.0.1//", visibility_timeout=1)) == []


def test_w301_through_manage_py_check_with_the_project_app(settings):
    from demo_project.celery import app
    from perfkit.warming.celery import configure_celery

    configure_celery(app)
    settings.PERFKIT = {"WARMING_TIME_LIMIT": 7200, "WARMING_SOFT_TIME_LIMIT": 7000}
    with pytest.raises(SystemCheckError) as info:
        call_command("check", "--fail-level", "WARNING")
    assert "perfkit.W301" in str(info.value)


def test_e301_soft_limit_not_below_the_hard_limit(settings):
    settings.PERFKIT = {"WARMING_TIME_LIMIT": 60, "WARMING_SOFT_TIME_LIMIT": 60}
    [msg] = check_time_limits()
    assert msg.id == "perfkit.E301"
    assert msg.msg == (
        "PERFKIT['WARMING_SOFT_TIME_LIMIT'] (60) must be lower than "
        "PERFKIT['WARMING_TIME_LIMIT'] (60): the hard limit would kill a warming chunk before "
        "the soft limit lets it stop cleanly and report what it did."
    )
    assert msg.hint == "Set WARMING_SOFT_TIME_LIMIT to about 80% of the hard limit (48)."
    with pytest.raises(SystemCheckError, match=r"perfkit\.E301"):
        call_command("check")
    settings.PERFKIT = {"WARMING_TIME_LIMIT": 60, "WARMING_SOFT_TIME_LIMIT": 50}
    assert check_time_limits() == []
