"""Django's own cache-backend tests pass on each perfkit backend exactly as on its base.

The tests are tests/cache/ of the Django sdist matching the installed Django, downloaded with pip
into .cache/ (outside git) on first use; tests/backends/conformance.py runs them on one backend
in a process of its own.  Locally the test skips when the download fails; under CI=true it fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import django
import pytest

from tests.backends.servers import RedisClusterServers, RedisServer
from tests.services import in_ci

ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = Path(os.environ.get("PERFKIT_SDIST_CACHE", ROOT / ".cache" / "django-sdist"))
RUNNER = Path(__file__).with_name("conformance.py")

# perfkit target -> its base (both keys of conformance.TARGETS)
PAIRS = {
    "perfkit-redis": "django-redis",
    "perfkit-django": "django-builtin",
    "perfkit-db": "django-db",
    "tiered-redis": "django-redis",
    "tiered-db": "django-db",
}
# where a TieredCache differs from its base by design, and why
TIERED_BY_DESIGN = {
    # a local hit costs no query: the point of the local layer
    "test_get_many_num_queries": "a local hit runs no SQL",
    # the remote culls behind the local copies, like a write from another process: seen after
    # at most LOCAL_TIMEOUT
    "test_cull": "culled remotely, still copied locally for LOCAL_TIMEOUT",
    "test_zero_cull": "culled remotely, still copied locally for LOCAL_TIMEOUT",
    # the harness adds one remote alias per alias, so createcachetable prints twice as many lines
    "test_second_call_doesnt_crash": "harness: twice as many aliases in CACHES",
}


def _fail_or_skip(message: str) -> None:
    if in_ci():
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def suite_dir() -> Path:
    version = django.__version__
    target = CACHE_DIR / f"django-{version}" / "tests"
    if (target / "cache" / "tests.py").exists():
        return target
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
    download = subprocess.run(
        [*pip, "--disable-pip-version-check", "-q", "-d", str(CACHE_DIR), f"Django=={version}"],
        capture_output=True,
        text=True,
    )
    archives = list(CACHE_DIR.glob(f"[dD]jango-{version}.tar.gz"))
    if download.returncode != 0 or not archives:
        _fail_or_skip(f"cannot download the Django {version} sdist: {download.stderr[-300:]}")
    prefix = f"django-{version}/tests/cache/"
    with tarfile.open(archives[0]) as archive:
        members = [m for m in archive.getmembers() if m.name.startswith(prefix)]
        archive.extractall(CACHE_DIR, members=members, filter="data")
    return target


@pytest.fixture(scope="module")
def redis_url():
    server = RedisServer()  # Django's tests clear() the cache: a private server, never ours
    yield f"redis://127.0.0.1:{server.port}/0"
    server.stop()


_results: dict[str, dict[str, str]] = {}


def _run(suite: Path, target: str, url: str) -> dict[str, str]:
    if target not in _results:
        done = subprocess.run(
            [sys.executable, str(RUNNER), str(suite), target, url],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        _results[target] = json.loads(done.stdout.strip().splitlines()[-1])["outcomes"]
    return _results[target]


@pytest.mark.parametrize("ours", list(PAIRS))
def test_django_cache_tests_pass_as_on_the_base(ours, suite_dir, redis_url):
    base = PAIRS[ours]
    base_passed = {t for t, v in _run(suite_dir, base, redis_url).items() if v == "pass"}
    outcomes = _run(suite_dir, ours, redis_url)
    passed = {t for t, v in outcomes.items() if v == "pass"}
    allowed = set(TIERED_BY_DESIGN) if ours.startswith("tiered") else set()
    assert sorted(base_passed - passed - allowed) == []
    print(f"{ours}: {len(passed)} passed; {base}: {len(base_passed)} passed")


@pytest.fixture(scope="module")
def cluster_url():
    servers = RedisClusterServers()
    yield servers.url
    servers.stop()


def test_django_cache_tests_on_a_cluster_pass_what_django_redis_passes(
    suite_dir, redis_url, cluster_url
):
    # Django has no cluster backend: the base is django-redis on one node
    base_passed = {t for t, v in _run(suite_dir, "django-redis", redis_url).items() if v == "pass"}
    outcomes = _run(suite_dir, "perfkit-cluster", cluster_url)
    passed = {t for t, v in outcomes.items() if v == "pass"}
    assert sorted(base_passed - passed) == []
    print(f"perfkit-cluster: {len(passed)} passed; django-redis: {len(base_passed)} passed")
