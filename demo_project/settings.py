"""Settings of the perfkit demo.

With no environment set it needs no server: SQLite, local-memory cache, Celery eager.
``DATABASE_URL`` (PostgreSQL), ``REDIS_URL``/``CACHE_URL`` (cache) and ``CELERY_BROKER_URL``
switch to real servers.
"""

from __future__ import annotations

import importlib.util
import os

from demo_project.env import BASE_DIR, database_from_url, flag
from perfkit.backends import caches_from_env

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "perfkit-demo-not-secret")
DEBUG = flag("DJANGO_DEBUG", True)
ALLOWED_HOSTS = ["*"]
INTERNAL_IPS = ["127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "perfkit",
    "demo_project.bookstore",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

HAS_CELERY = all(
    importlib.util.find_spec(m) for m in ("celery", "django_celery_beat", "django_celery_results")
)
if HAS_CELERY:
    INSTALLED_APPS += ["django_celery_beat", "django_celery_results"]

ENABLE_TOOLBAR = (
    DEBUG
    and flag("PERFKIT_DEMO_TOOLBAR", True)
    and importlib.util.find_spec("debug_toolbar") is not None
)
if ENABLE_TOOLBAR:
    INSTALLED_APPS += ["debug_toolbar"]
    MIDDLEWARE.insert(0, "debug_toolbar.middleware.DebugToolbarMiddleware")
    DEBUG_TOOLBAR_CONFIG = {"SHOW_TOOLBAR_CALLBACK": "demo_project.urls.show_toolbar"}
    from debug_toolbar.settings import PANELS_DEFAULTS

    DEBUG_TOOLBAR_PANELS = [*PANELS_DEFAULTS, "perfkit.contrib.debug_toolbar.PerfkitPanel"]

ROOT_URLCONF = "demo_project.urls"
WSGI_APPLICATION = "demo_project.wsgi.application"
ASGI_APPLICATION = "demo_project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

DATABASES = {
    "default": database_from_url(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'demo.sqlite3'}"
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# no environment: an in-process cache; REDIS_URL or CACHE_URL (any perfkit.backends.cache_url
# URL: redis://, db://table, ...) switches to a shared one with fail-fast timeouts
CACHES = caches_from_env(
    "locmem://perfkit-demo",
    env=("CACHE_URL", "REDIS_URL"),
    options={"key_prefix": "perfkit-demo"},
)

PERFKIT = {"KEY_PREFIX": "demo"}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "Asia/Seoul"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"

# Celery: the broker and result backend are real servers when CELERY_BROKER_URL is set; with no
# environment the demo runs tasks eagerly in-process so it needs no server.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "django-db" if HAS_CELERY else "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"perfkit": {"handlers": ["console"], "level": "INFO"}},
}
