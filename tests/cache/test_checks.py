from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from perfkit.cache import cached, registry
from perfkit.cache.checks import check_cache_aliases


@pytest.fixture(autouse=True)
def _only_this_tests_functions():
    """Other suites register their own cached functions (some on deliberately odd aliases)."""
    before = dict(registry)
    registry.clear()
    yield
    registry.clear()
    registry.update(before)


def ids(messages):
    return [m.id for m in messages]


def test_clean_configuration_has_no_messages():
    assert check_cache_aliases() == []


def test_e101_cache_alias_not_in_caches(settings):
    settings.PERFKIT = {"CACHE_ALIAS": "nope"}
    [message] = check_cache_aliases()
    assert message.id == "perfkit.E101"
    assert message.msg.startswith("PERFKIT['CACHE_ALIAS'] is 'nope', which is not in CACHES (")
    assert message.hint == "Set PERFKIT['CACHE_ALIAS'] to one of the CACHES aliases, or add it."
    with pytest.raises(SystemCheckError, match=r"perfkit\.E101"):
        call_command("check")


def test_e102_function_alias_not_in_caches():
    @cached(timeout=1, cache="missing-alias")
    def f():
        return 1

    [message] = check_cache_aliases()
    assert message.id == "perfkit.E102"
    assert message.msg == (
        f"@cached {f.perfkit_name} uses cache='missing-alias', which is not in CACHES."
    )


def test_w101_stale_without_lock():
    @cached(timeout=1, stale=5, lock=False)
    def f():
        return 1

    assert ids(check_cache_aliases()) == ["perfkit.W101"]


def test_e103_invalidation_alias_not_in_caches(settings):
    settings.PERFKIT = {"INVALIDATION_ALIASES": ["redis", "nope"]}
    [message] = check_cache_aliases()
    assert message.id == "perfkit.E103"
    assert message.msg == "PERFKIT['INVALIDATION_ALIASES'] names 'nope', which is not in CACHES."
    with pytest.raises(SystemCheckError, match=r"perfkit\.E103"):
        call_command("check")


def test_e103_is_silent_on_a_wrong_type_which_e003_reports(settings):
    settings.PERFKIT = {"INVALIDATION_ALIASES": "redis"}
    assert check_cache_aliases() == []
