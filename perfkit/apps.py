"""perfkit's AppConfig: registers checks and connects the pieces that need a ready registry."""

from __future__ import annotations

from django.apps import AppConfig


class PerfkitConfig(AppConfig):
    name = "perfkit"
    verbose_name = "django-perfkit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from perfkit import (
            checks,  # noqa: F401  (registers the settings checks)
            internals,
        )

        # each subpackage connects what it needs below, one import each
        from perfkit.backends import checks as _backend_checks  # noqa: F401  (deploy checks)
        from perfkit.cache import invalidation as _hooks  # noqa: F401  (ORM write hooks)
        from perfkit.instrument import checks as _instrument_checks  # noqa: F401  (perfkit.E401)
        from perfkit.warming import startup as _warming  # noqa: F401  (checks, Celery apps)

        internals.install()  # every patch of another library's internals, reversible

        from perfkit.cache import rawsql

        rawsql.install()  # raw SQL writes through a Django cursor bump their tables
