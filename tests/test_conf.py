from __future__ import annotations

import pytest
from django.test import override_settings

from perfkit.conf import OPTIONS, perfkit_settings


def test_defaults_apply_for_missing_keys():
    with override_settings(PERFKIT={}):
        assert OPTIONS["KEY_PREFIX"].default == perfkit_settings.KEY_PREFIX
        assert perfkit_settings.FAIL_MODE == "open"


def test_override_settings_is_seen_at_once():
    with override_settings(PERFKIT={"KEY_PREFIX": "first"}):
        assert perfkit_settings.KEY_PREFIX == "first"
        with override_settings(PERFKIT={"KEY_PREFIX": "second"}):
            assert perfkit_settings.KEY_PREFIX == "second"
        assert perfkit_settings.KEY_PREFIX == "first"


def test_unknown_attribute_names_the_table():
    with pytest.raises(AttributeError, match=r"'NOPE' is not a perfkit setting"):
        perfkit_settings.NOPE  # noqa: B018


def test_every_option_has_a_typed_attribute_and_docs():
    annotations = type(perfkit_settings).__annotations__
    for key, option in OPTIONS.items():
        assert key in annotations, f"PerfkitSettings lacks an annotation for {key}"
        assert option.doc, f"{key} has no documentation"


def test_every_option_is_documented_in_the_readme():
    from demo_project.env import BASE_DIR

    readme = (BASE_DIR / "README.md").read_text()
    missing = [key for key in OPTIONS if f"`{key}`" not in readme]
    assert not missing, f"README settings table lacks: {missing}"


def test_prefix_from_the_test_settings_is_seen():
    # demo_project/__init__ imports the Celery app, which reads perfkit settings while
    # tests/settings.py is still being imported: that early read must not stick.
    from django.conf import settings

    assert perfkit_settings.KEY_PREFIX == settings.PERFKIT["KEY_PREFIX"] == "pkt"


def test_a_replaced_dict_is_seen_without_a_signal():
    from django.conf import settings

    original = settings.PERFKIT
    try:
        settings.PERFKIT = {"KEY_PREFIX": "direct"}
        assert perfkit_settings.KEY_PREFIX == "direct"
    finally:
        settings.PERFKIT = original
    assert perfkit_settings.KEY_PREFIX == "pkt"
