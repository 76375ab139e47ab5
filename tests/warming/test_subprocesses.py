"""What only real processes show: the prefork pool's soft time limit, and beat firing a warm."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from perfkit.cache import MISSING
from perfkit.warming import warm, warmer
from perfkit.warming.beat import sync_beat
from tests.warming import cachedfuncs
from tests.warming.conftest import QUEUE, running_worker, subprocess_env

pytestmark = [
    pytest.mark.redis,
    pytest.mark.celery_worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]
CELERY = [sys.executable, "-m", "celery", "-A", "demo_project"]


@contextmanager
def celery_process(*args: str, **env: str) -> Iterator[subprocess.Popen]:
    """A ``celery`` subprocess, stopped (and killed if need be) when the block ends."""
    with tempfile.TemporaryDirectory(prefix="perfkit-warming-") as tmp:
        log = Path(tmp) / "celery.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                [*CELERY, *args], cwd=tmp, env=subprocess_env(**env), stdout=out, stderr=out
            )
            try:
                yield proc
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        if proc.returncode not in (0, -15):
            print(log.read_text()[-4000:])


def test_prefork_soft_time_limit_stops_the_chunk(celery_app, records, settings):
    settings.PERFKIT = {**settings.PERFKIT, "WARMING_TIME_LIMIT": 20, "WARMING_SOFT_TIME_LIMIT": 1}
    cachedfuncs.register_subprocess_warmers()
    worker = (
        "worker", "-P", "prefork", "-c", "1", "-Q", QUEUE, "-I", "tests.warming.cachedfuncs",
        "--without-mingle", "--without-gossip", "--without-heartbeat", "-l", "WARNING",
        "-n", f"{QUEUE}@%h",
    )  # fmt: skip
    limits = {"PERFKIT_TEST_TIME_LIMIT": "20", "PERFKIT_TEST_SOFT_TIME_LIMIT": "1"}
    with celery_process(*worker, **limits):
        summary = warm("t.softlimit", wait=True, timeout=90)
        # the same child process goes on working: the hard limit did not have to kill it
        after = warm("t.after", wait=True, timeout=30)
    reason = (
        "SoftTimeLimitExceeded: the chunk stopped at its soft time limit (1 s) before this "
        "call finished; use a smaller chunk_size"
    )
    # 0 took 0.6 s and is kept, 1 was interrupted at 1 s, 2 and 3 never started
    assert summary["stored"] == 1
    assert summary["failed"] == [[[], {"n": n, "seconds": 0.6}, reason] for n in (1, 2, 3)]
    assert [c.rsplit(":", 1)[0] for c in records.recorded()] == ["slow:0", "slow:1", "square:12"]
    assert cachedfuncs.slow.peek(n=0, seconds=0.6) == 0  # stored before the limit struck
    assert cachedfuncs.slow.peek(n=1, seconds=0.6) is MISSING
    assert after["stored"] == 1


@pytest.mark.postgres  # beat reads the schedule from the test database: PostgreSQL pass only
def test_beat_with_the_database_scheduler_fires_a_warm(celery_app, records):
    warmer(cachedfuncs.square, name="t.beat", args=lambda: [11], schedule=1)
    assert [c.action for c in sync_beat()] == ["create"]
    beat = ("beat", "-S", "django_celery_beat.schedulers:DatabaseScheduler", "-l", "WARNING")
    with running_worker(celery_app), celery_process(*beat, "--max-interval", "1"):
        records.wait_for(lambda: "square:11" in str(records.recorded()), timeout=45)
    assert [c.rsplit(":", 1)[0] for c in records.recorded()][:1] == ["square:11"]
