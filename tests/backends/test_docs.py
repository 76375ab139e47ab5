"""Every check id of perfkit.backends is documented, and the code emits no other."""

from __future__ import annotations

import re
from pathlib import Path

import perfkit.backends

PACKAGE = Path(perfkit.backends.__file__).parent
DOCS = Path(__file__).resolve().parents[2] / "docs" / "backends.md"


def test_every_check_id_is_documented():
    source = "".join(p.read_text() for p in PACKAGE.glob("*.py"))
    emitted = set(re.findall(r"perfkit\.[EW]2\d\d", source))
    documented = set(re.findall(r"`(perfkit\.[EW]2\d\d)`", DOCS.read_text()))
    assert emitted == documented
    assert len(emitted) == 10
