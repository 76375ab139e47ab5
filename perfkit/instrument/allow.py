"""Allow-lists of N+1 groups: by relation (``"shop.Author.books"``, ``"shop.A*"``) or by regex.

An entry that reads as ``app_label.Model[.accessor]`` with an installed app's label, possibly
with ``fnmatch`` wildcards (``*``, ``?``, ``[...]``), names relations, as django-zeal and
nplusone take them: it matches a group whose queries load that relation
(``perfkit.instrument.relations``).  ``"shop.Author"`` allows every relation of the model.
Any other entry is a regular expression searched in the group's SQL fingerprint and locations.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Any

__all__ = ["AllowRule", "compile_rules", "is_relation_pattern"]

_DOTTED = re.compile(r"[A-Za-z_][\w]*(\.[\w*?\[\]!-]+){1,2}")


def is_relation_pattern(text: str) -> bool:
    """``app_label.Model[.accessor]`` (wildcards allowed after the app label)?"""
    if not _DOTTED.fullmatch(text):
        return False
    from django.apps import apps

    return text.split(".", 1)[0] in apps.app_configs


class AllowRule:
    """One allow-list entry: a relation pattern or a regex."""

    def __init__(self, entry: str | re.Pattern[str]) -> None:
        self.entry = entry
        self.relation = isinstance(entry, str) and is_relation_pattern(entry)
        self.regex = None if self.relation else re.compile(entry)

    def matches(self, group: Any) -> bool:
        """Does this rule allow the N+1 ``group`` (a ``QueryGroup``)?"""
        if self.regex is not None:
            texts = [group.fingerprint, *group.locations]
            return any(self.regex.search(text) for text in texts)
        label = group.relation
        if not label:
            return False
        pattern = str(self.entry)
        return fnmatchcase(label, pattern) or fnmatchcase(label.rsplit(".", 1)[0], pattern)

    def __repr__(self) -> str:
        return f"<AllowRule {'relation' if self.relation else 'regex'} {self.entry!r}>"


def compile_rules(entries: Iterable[str | re.Pattern[str]]) -> list[AllowRule]:
    """Rules for ``entries`` (a bad regex raises ``re.error``)."""
    return [AllowRule(entry) for entry in entries]
