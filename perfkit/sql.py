"""SQL fingerprints (public API): ``fingerprint(sql)`` and ``shorten(sql, width)``.

The implementation lives in ``perfkit.instrument.sql``, next to the query capture that uses it.
"""

from __future__ import annotations

from perfkit.instrument.sql import fingerprint, shorten

__all__ = ["fingerprint", "shorten"]
