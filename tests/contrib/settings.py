"""tests.settings plus django-debug-toolbar with only PerfkitPanel (used in a subprocess).

The toolbar is not in tests/settings.py: once its app is loaded, its system checks stay
registered for the whole process and would show up in every other test's ``check`` run.
"""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES, INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [*INSTALLED_APPS, "debug_toolbar"]
MIDDLEWARE = ["debug_toolbar.middleware.DebugToolbarMiddleware", *MIDDLEWARE]
ROOT_URLCONF = "tests.contrib.urls"
DEBUG_TOOLBAR_PANELS = ["perfkit.contrib.debug_toolbar.PerfkitPanel"]
DEBUG_TOOLBAR_CONFIG = {
    "SHOW_TOOLBAR_CALLBACK": "tests.contrib.urls.show_toolbar",
    "RENDER_PANELS": True,
    "IS_RUNNING_TESTS": False,
}
# PostgreSQL: test databases of their own, the parent test run holds test_perfkit*
for _alias, _config in DATABASES.items():
    if "TEST" in _config:
        _config["TEST"] = {"NAME": f"{_config['TEST']['NAME']}_toolbar_{os.getpid()}"}
