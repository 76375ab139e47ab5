"""PerfkitPanel in real requests.

django-debug-toolbar's app registers system checks for the whole process once loaded, so the
panel's request tests (toolbar_cases.py) run in a subprocess with a settings module of their
own, and the demo's own settings are checked in another.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(args, env=None):
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_panel_in_requests_through_the_toolbar_middleware():
    done = run(
        [
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "tests/contrib/toolbar_cases.py",
            "--ds",
            "tests.contrib.settings",
        ]
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout


def test_importing_the_panel_without_the_toolbar_names_the_extra():
    code = (
        "import sys; sys.modules['debug_toolbar'] = None\n"
        "try:\n"
        "    import perfkit.contrib.debug_toolbar\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    done = run(["-c", code])
    assert done.stdout.strip() == (
        "MissingExtraError perfkit.contrib.debug_toolbar needs the 'debug_toolbar' package, "
        'which is not installed. Install it with: pip install "django-perfkit[toolbar]"'
    )


@pytest.mark.slow
def test_the_demo_renders_the_panel(tmp_path):
    """The demo's own settings (DEBUG, toolbar on) put PerfkitPanel on its pages."""
    script = """
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings
call_command("migrate", verbosity=0)
from demo_project.bookstore.seeding import seed
seed(5, reviews_per_book=1)
assert "perfkit.contrib.debug_toolbar.PerfkitPanel" in settings.DEBUG_TOOLBAR_PANELS
config = {**settings.DEBUG_TOOLBAR_CONFIG, "RENDER_PANELS": True}
with override_settings(DEBUG_TOOLBAR_CONFIG=config):
    html = Client().get("/books/naive/").content.decode()
start = html.index('id="PerfkitPanel"')
print(html[start:html.index("<h4>Duplicate queries</h4>", start)])
"""
    env = {
        "DJANGO_SETTINGS_MODULE": "demo_project.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "DJANGO_DEBUG": "1",
        "PERFKIT_DEMO_TOOLBAR": "1",
        "REDIS_URL": "",
        "CACHE_URL": "",
        "CELERY_BROKER_URL": "",
    }
    done = run(["-c", script], env)
    assert done.returncode == 0, done.stderr
    assert "<h4>N+1 query groups</h4>" in done.stdout
    assert "<td>5x</td>" in done.stdout
    assert "demo_project/bookstore/services.py:29 in _book_row" in done.stdout
