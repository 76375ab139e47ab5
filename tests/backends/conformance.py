"""Run Django's own cache-backend tests (tests/cache/tests.py of the Django sdist) on one backend.

    python tests/backends/conformance.py SUITE_DIR TARGET [REDIS_URL]

SUITE_DIR is the sdist's ``tests`` directory (it holds the ``cache`` test app); TARGET is a key of
``TARGETS``.  Prints one JSON object: ``{test method: "pass" | "fail" | "error" | "skip"}``.  Run
in a process of its own per target (it configures Django's settings);
tests/backends/test_django_conformance.py compares each perfkit backend's results with its base's.
"""

from __future__ import annotations

import importlib
import json
import sys
import tempfile
import unittest
from collections.abc import Callable
from typing import Any

REDIS_SUITE = ("RedisCacheTests", {"cull", "zero_cull"})
DB_SUITE = ("DBCacheTests", set())
DB_TABLE = "test cache table"  # what DBCacheTests creates and drops


def _redis(url: str) -> dict[str, Any]:
    return {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": url}


def _perfkit(url: str) -> dict[str, Any]:
    from perfkit.backends import cache_url

    return cache_url(url)


def _tiered(remote: Callable[[dict[str, dict[str, Any]]], dict[str, dict[str, Any]]]) -> Any:
    """Every alias of the suite's CACHES becomes a TieredCache over a copy of the remote alias."""

    def build(setting: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        caches: dict[str, dict[str, Any]] = {}
        for alias, params in remote(setting).items():
            caches[f"{alias}__remote"] = params
            caches[alias] = {
                "BACKEND": "perfkit.backends.TieredCache",
                "LOCATION": f"{alias}__remote",
                **{k: params[k] for k in ("KEY_PREFIX", "VERSION", "KEY_FUNCTION") if k in params},
            }
        return caches

    return build


def _same(setting: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return setting


# target -> (suite, base params of every alias (from the Redis URL), transform of the suite's
# CACHES); the base of each perfkit target is named in tests/backends/test_django_conformance.py
TARGETS: dict[str, tuple[tuple[str, set[str]], Callable[[str], dict[str, Any]], Any]] = {
    "django-redis": (REDIS_SUITE, _redis, _same),
    "perfkit-redis": (REDIS_SUITE, _perfkit, _same),
    "django-builtin": (
        REDIS_SUITE,
        lambda url: {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url},
        _same,
    ),
    "perfkit-django": (REDIS_SUITE, lambda url: _perfkit(f"{url}?backend=django"), _same),
    "tiered-redis": (REDIS_SUITE, _perfkit, _tiered(_same)),
    "django-db": (
        DB_SUITE,
        lambda url: {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": DB_TABLE,
        },
        _same,
    ),
    # redis+cluster://: URL = the cluster's redis+cluster:// URL
    "perfkit-cluster": (REDIS_SUITE, _perfkit, _same),
    "perfkit-db": (DB_SUITE, lambda url: _perfkit("db://test%20cache%20table"), _same),
    "tiered-db": (DB_SUITE, lambda url: _perfkit("db://test%20cache%20table"), _tiered(_same)),
}


class _Outcomes(unittest.TestResult):
    def __init__(self) -> None:
        super().__init__()
        self.outcomes: dict[str, str] = {}
        self.details: dict[str, str] = {}

    def _name(self, test: Any) -> str:
        return str(test.id().rpartition(".")[2])

    def addSuccess(self, test: Any) -> None:
        self.outcomes.setdefault(self._name(test), "pass")

    def addFailure(self, test: Any, err: Any) -> None:
        self.outcomes[self._name(test)] = "fail"
        self.details[self._name(test)] = self._exc_info_to_string(err, test)[-600:]

    def addError(self, test: Any, err: Any) -> None:
        self.outcomes[self._name(test)] = "error"
        self.details[self._name(test)] = self._exc_info_to_string(err, test)[-600:]

    def addSkip(self, test: Any, reason: str) -> None:
        self.outcomes[self._name(test)] = "skip"

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        if err is not None:
            self.addFailure(test, err)


def run(suite_dir: str, target: str, redis_url: str) -> dict[str, Any]:
    (suite_name, excluded), base, transform = TARGETS[target]
    sys.path.insert(0, suite_dir)
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="conformance",
        USE_TZ=False,
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "cache"],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": f"{tempfile.mkdtemp()}/conformance.sqlite3",
            }
        },
        # cache/tests.py reads the Redis parameters of its Redis tests from here at import
        CACHES={
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "redis": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis_url,
            },
        },
        MIDDLEWARE=[],
        ROOT_URLCONF=None,
    )
    django.setup()
    from django.db import connection
    from django.test import override_settings
    from django.test.utils import setup_test_environment

    django_tests = importlib.import_module("cache.tests")  # the sdist's tests/cache/tests.py

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0)
    suite_class = getattr(django_tests, suite_name)
    setting = django_tests.caches_setting_for_tests(base=base(redis_url), exclude=excluded)
    attrs = {"__module__": django_tests.__name__, "__qualname__": f"{suite_name}_{target}"}
    cls = override_settings(CACHES=transform(setting))(
        type(f"{suite_name}_{target}", (suite_class,), attrs)
    )
    result = _Outcomes()
    unittest.TestLoader().loadTestsFromTestCase(cls).run(result)
    return {"outcomes": result.outcomes, "details": result.details}


if __name__ == "__main__":
    suite_dir, target = sys.argv[1], sys.argv[2]
    url = sys.argv[3] if len(sys.argv) > 3 else "redis://127.0.0.1:6379/0"
    print(json.dumps(run(suite_dir, target, url)))
