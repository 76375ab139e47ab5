"""Read the demo's environment: DATABASE_URL, REDIS_URL, CELERY_BROKER_URL and friends."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent

_ENGINES = {
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
    "pgsql": "django.db.backends.postgresql",
    "sqlite": "django.db.backends.sqlite3",
}


def flag(name: str, default: bool) -> bool:
    """A boolean environment variable: 1/true/yes/on are true."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_from_url(url: str, *, test_name: str | None = None) -> dict[str, Any]:
    """One ``DATABASES`` entry from ``postgres://user:pass@host:port/name`` or ``sqlite:///path``."""
    parts = urlsplit(url)
    engine = _ENGINES.get(parts.scheme)
    if engine is None:
        raise ValueError(
            f"DATABASE_URL has the scheme {parts.scheme!r}, which the demo does not know. "
            f"Use one of: {', '.join(sorted(_ENGINES))} (e.g. postgres://postgres@127.0.0.1/perfkit)."
        )
    if engine.endswith("sqlite3"):
        # sqlite:////abs/path.db -> /abs/path.db; sqlite:///rel.db -> rel.db
        path = unquote(parts.path)
        name = path[1:] if path.startswith("//") else (path.lstrip("/") or ":memory:")
        config: dict[str, Any] = {"ENGINE": engine, "NAME": name}
    else:
        config = {
            "ENGINE": engine,
            "NAME": unquote(parts.path.lstrip("/")) or "postgres",
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "OPTIONS": dict(parse_qsl(parts.query)),
        }
    if test_name:
        config["TEST"] = {"NAME": test_name}
    return config
