"""Settings for perfkit's own test suite.

SQLite by default; ``DATABASE_URL=postgres://...`` runs the same suite on PostgreSQL.  Two
databases are configured ("default" and "other") so helpers can be tested with ``using``.
The real Redis is reached at ``PERFKIT_TEST_REDIS_URL`` (default: 127.0.0.1:6379, DB 11), with a
key prefix unique to this test process: tests never flush a Redis database.
"""

from __future__ import annotations

import os

from demo_project.env import database_from_url

SECRET_KEY = "perfkit-tests"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "Asia/Seoul"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "perfkit",
    "demo_project.bookstore",
    "django_celery_beat",
    "django_celery_results",
    "tests.testapp",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

_db_url = os.environ.get("DATABASE_URL", "")
# lets several checkouts run the PostgreSQL suite at once without sharing test databases
_db_suffix = os.environ.get("PERFKIT_TEST_DB_SUFFIX", "")
if _db_url:
    DATABASES = {
        "default": database_from_url(_db_url, test_name=f"test_perfkit{_db_suffix}"),
        "other": database_from_url(_db_url, test_name=f"test_perfkit_other{_db_suffix}"),
    }
else:
    DATABASES = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
        "other": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("PERFKIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
# unique per test process (pytest-xdist workers, the SQLite and PostgreSQL runs)
TEST_KEY_PREFIX = f"perfkit-test-{os.getpid()}"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "perfkit-tests-default",
    },
    "redis": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": TEST_KEY_PREFIX,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
    },
    "db": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "perfkit_test_cache",
        "KEY_PREFIX": TEST_KEY_PREFIX,
    },
}

# stale entries refresh in-process unless a test turns this on (tests/warming does, with a worker)
PERFKIT: dict[str, object] = {"KEY_PREFIX": "pkt", "REFRESH_IN_BACKGROUND": False}

STATIC_URL = "static/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

CELERY_BROKER_URL = os.environ.get("PERFKIT_TEST_BROKER_URL", "redis://127.0.0.1:6379/12")
CELERY_RESULT_BACKEND = os.environ.get("PERFKIT_TEST_RESULT_BACKEND", "redis://127.0.0.1:6379/12")
