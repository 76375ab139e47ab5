from __future__ import annotations

import logging

from django.core.cache import caches

from perfkit.instrument.cachelog import capture_cache


def test_a_cache_that_cannot_be_built_is_logged_not_swallowed(settings, caplog):
    settings.CACHES = {
        **settings.CACHES,
        "broken": {"BACKEND": "tests.instrument.no_such_module.Cache"},
    }
    with (
        caplog.at_level(logging.WARNING, logger="perfkit.instrument.cachelog"),
        capture_cache() as log,
    ):
        caches["default"].set("k", 1)
    assert [(o.alias, o.op) for o in log] == [("default", "set")]
    [record] = caplog.records
    assert record.getMessage().startswith("capture_cache: cache 'broken' cannot be built (")
    assert "its operations are not recorded" in record.getMessage()
