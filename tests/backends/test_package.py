"""perfkit.backends as a package: its check ids documented (imports: tests/test_packaging.py)."""

from __future__ import annotations

import re
from pathlib import Path

import perfkit.backends

PACKAGE = Path(perfkit.backends.__file__).parent
ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "backends.md"


def test_every_check_id_is_documented():
    source = "".join(p.read_text() for p in PACKAGE.glob("*.py"))
    emitted = set(re.findall(r"perfkit\.[EW]2\d\d", source))
    documented = set(re.findall(r"`(perfkit\.[EW]2\d\d)`", DOCS.read_text()))
    assert emitted == documented
    assert len(emitted) == 11
