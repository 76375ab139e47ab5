"""Generations per database alias (``PERFKIT["GENERATIONS_PER_DATABASE"]``, off by default).

Off, a generation key names no database: a write to ``Book`` on any alias invalidates every
entry that depends on ``Book``, whichever database it was computed from (never stale; more
invalidation than needed on a site that keeps the same tables in several databases).

On, a write on an alias that is not the model's home database (``router.db_for_write(model)``)
bumps keys of its own, ``P:g@<alias>:app.model...``: entries computed from the home database
(their dependencies as usual) stay valid.  Entries computed from another database say so with
``on_database(alias, *targets)``.  Sites with one database, or whose routers send every write of
a model to one database (replicas included), see no difference.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import router

from perfkit.conf import perfkit_settings
from perfkit.exceptions import ImproperlyConfiguredError

__all__ = ["OnDatabase", "localise", "on_database"]


class OnDatabase:
    """Dependencies on rows that live in database ``alias`` (see ``on_database``)."""

    __slots__ = ("alias", "targets")

    def __init__(self, alias: str, targets: tuple[Any, ...]) -> None:
        self.alias = alias
        self.targets = targets

    def __repr__(self) -> str:
        return f"on_database({self.alias!r}, {', '.join(map(repr, self.targets))})"


def on_database(alias: str, *targets: Any) -> OnDatabase:
    """``depends_on=[on_database("other", Book, (Book, 5))]``: an entry computed from database
    ``other``, invalidated by writes there (with ``GENERATIONS_PER_DATABASE``; without it every
    write invalidates it anyway)."""
    from django.db import connections

    if alias not in connections:
        raise ImproperlyConfiguredError(
            f"on_database(): {alias!r} is not in settings.DATABASES "
            f"(known: {', '.join(connections)})."
        )
    if not targets:
        raise ImproperlyConfiguredError(
            "on_database(): name at least one dependency after the alias."
        )
    return OnDatabase(alias, targets)


def _home(label: str) -> str | None:
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return None
    return router.db_for_write(model)


def localise(keys: list[str], using: str | None) -> list[str]:
    """``keys`` (generation keys of the home database) as written or read on ``using``."""
    if using is None or not perfkit_settings.GENERATIONS_PER_DATABASE:
        return keys
    prefix = perfkit_settings.KEY_PREFIX
    head = prefix + ":g:"
    homes: dict[str, str | None] = {}
    out = []
    for key in keys:
        if key.startswith(head):
            rest = key[len(head) :]
            label = ".".join(rest.split(":", 1)[0].split(".")[:2])
            if label not in homes:
                homes[label] = _home(label)
            home = homes[label]
            if home is not None and home != using:
                key = f"{prefix}:g@{using}:{rest}"
        out.append(key)
    return out
