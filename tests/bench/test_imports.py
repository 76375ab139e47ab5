from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_and_command_import_no_optional_package():
    code = (
        "import django; django.setup(); import sys\n"
        "import perfkit.bench, perfkit.management.commands.perfkit_bench\n"
        "print(sorted(m for m in ('rich', 'redis', 'django_redis', 'debug_toolbar', 'matplotlib')"
        " if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
