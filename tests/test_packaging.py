from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from perfkit._optional import require
from perfkit.exceptions import MissingExtraError

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "modules",
    [
        "perfkit, perfkit.conf, perfkit.checks, perfkit.signals",
        # the backends load redis / django-redis only when a Redis cache is built
        "perfkit.backends, perfkit.backends.checks, perfkit.backends.resilient",
    ],
)
def test_imports_load_no_optional_dependency(modules):
    code = (
        f"import sys, {modules};"
        "heavy = {'celery', 'redis', 'django_redis', 'debug_toolbar', 'kombu', 'rich', 'yaml'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "", "PYTHONPATH": str(ROOT)},
    )
    assert out.stdout.strip() == "[]"


def test_missing_extra_names_the_pip_command():
    with pytest.raises(MissingExtraError) as info:
        require("celery.nonexistent_module_for_test", feature="perfkit.warming")
    assert str(info.value) == (
        "perfkit.warming needs the 'celery' package, which is not installed. "
        'Install it with: pip install "django-perfkit[celery]"'
    )
    assert isinstance(info.value, ImportError)


def test_package_ships_py_typed():
    from pathlib import Path

    import perfkit

    assert (Path(perfkit.__file__).parent / "py.typed").exists()
