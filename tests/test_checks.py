from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from perfkit.checks import check_settings


def ids(messages):
    return [m.id for m in messages]


def test_default_settings_are_clean():
    assert check_settings() == []


@override_settings(PERFKIT=["KEY_PREFIX", "x"])
def test_e001_not_a_dict():
    [msg] = check_settings()
    assert msg.id == "perfkit.E001"
    assert "PERFKIT must be a dict, not list" in msg.msg


@override_settings(PERFKIT={"KEY_PREFX": "x"})
def test_e002_unknown_key_suggests_the_closest():
    [msg] = check_settings()
    assert msg.id == "perfkit.E002"
    assert msg.msg == "PERFKIT['KEY_PREFX'] is not a perfkit setting."
    assert msg.hint == "Did you mean 'KEY_PREFIX'?"


@override_settings(PERFKIT={"ZZZZZZZ": 1})
def test_e002_unknown_key_without_close_match_lists_valid_keys():
    [msg] = check_settings()
    assert msg.id == "perfkit.E002"
    assert msg.hint.startswith("Valid keys: ")
    assert "KEY_PREFIX" in msg.hint


@override_settings(PERFKIT={"DEFAULT_TIMEOUT": "300"})
def test_e003_wrong_type():
    [msg] = check_settings()
    assert msg.id == "perfkit.E003"
    assert msg.msg == "PERFKIT['DEFAULT_TIMEOUT'] must be int or float, not str ('300')."
    assert "Default: 300" in msg.hint


@override_settings(PERFKIT={"LOCK_WAIT": True})
def test_e003_bool_is_not_a_number():
    assert ids(check_settings()) == ["perfkit.E003"]


@override_settings(PERFKIT={"FAIL_MODE": "sometimes"})
def test_e004_value_not_among_choices():
    [msg] = check_settings()
    assert msg.id == "perfkit.E004"
    assert msg.msg == "PERFKIT['FAIL_MODE'] is 'sometimes', which is not one of 'open', 'closed'."


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("DEFAULT_TIMEOUT", 0, "must be a positive number"),
        ("LOCK_WAIT", -1, "must be zero or a positive number"),
        ("KEY_PREFIX", "has space", "no whitespace"),
    ],
)
def test_e004_bad_value(key, value, problem):
    with override_settings(PERFKIT={key: value}):
        [msg] = check_settings()
    assert msg.id == "perfkit.E004"
    assert msg.msg.startswith(f"PERFKIT[{key!r}] is {value!r}: it ")
    assert problem in msg.msg


@override_settings(PERFKIT={"KEY_PREFX": "x"})
def test_manage_py_check_fails_on_a_bad_setting():
    with pytest.raises(SystemCheckError, match=r"perfkit\.E002"):
        call_command("check")
