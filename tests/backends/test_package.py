"""perfkit.backends as a package: its check ids documented, no Redis library imported early."""

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
    assert len(emitted) == 10


def test_importing_backends_loads_no_redis_library():
    import subprocess
    import sys

    code = (
        "import sys, perfkit.backends, perfkit.backends.checks, perfkit.backends.resilient;"
        "print(sorted({'redis', 'django_redis', 'celery', 'kombu'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "", "PYTHONPATH": str(ROOT)},
    )
    assert out.stdout.strip() == "[]"
