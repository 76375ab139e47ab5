"""Settings of worker / beat subprocesses started by the warming tests.

They must share the test process's database, cache key prefix and queue: all passed in the
environment by ``tests.warming.conftest.subprocess_env``.
"""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import CACHES, DATABASES

TEST_KEY_PREFIX = os.environ["PERFKIT_TEST_KEY_PREFIX"]
CACHES["redis"]["KEY_PREFIX"] = TEST_KEY_PREFIX
PERFKIT = {
    "KEY_PREFIX": "pkt",
    "WARMING_QUEUE": os.environ["PERFKIT_TEST_QUEUE"],
    "WARMING_TIME_LIMIT": float(os.environ.get("PERFKIT_TEST_TIME_LIMIT", "300")),
    "WARMING_SOFT_TIME_LIMIT": float(os.environ.get("PERFKIT_TEST_SOFT_TIME_LIMIT", "240")),
}
if os.environ.get("PERFKIT_TEST_DB_NAME"):
    # the test database of the parent (PostgreSQL), not a new one
    DATABASES["default"]["NAME"] = os.environ["PERFKIT_TEST_DB_NAME"]
    DATABASES["default"]["TEST"] = {"NAME": os.environ["PERFKIT_TEST_DB_NAME"]}
