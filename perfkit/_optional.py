"""Import optional dependencies with an error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from perfkit.exceptions import MissingExtraError

# module name -> extra of django-perfkit that installs it
EXTRAS: dict[str, str] = {
    "celery": "celery",
    "django_celery_beat": "celery",
    "django_celery_results": "celery",
    "kombu": "celery",
    "redis": "redis",
    "django_redis": "redis",
    "debug_toolbar": "toolbar",
    "yaml": "records",
    "rich": "test",
}


def require(module: str, *, feature: str) -> ModuleType:
    """Import ``module`` or raise MissingExtraError saying which extra brings it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.partition(".")[0]
        extra = EXTRAS.get(top, "all")
        raise MissingExtraError(
            f"{feature} needs the {top!r} package, which is not installed. "
            f'Install it with: pip install "django-perfkit[{extra}]"'
        ) from exc
