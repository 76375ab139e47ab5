"""perfkit_warm: --sync here, --wait through a worker with progress from the result backend."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from perfkit.warming import warmer
from tests.warming import cachedfuncs
from tests.warming.conftest import running_worker

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def run(*args: str) -> list[str]:
    out = StringIO()
    call_command("perfkit_warm", *args, stdout=out)
    return out.getvalue().splitlines()


def test_sync_warms_in_this_process_with_a_progress_bar(records):
    warmer(cachedfuncs.square, name="t.cmd", args=lambda: range(5), chunk_size=2)
    lines = run("t.cmd", "--sync")
    assert lines == [
        "t.cmd: warming here (--sync)",
        "[############------------------] 2/5 (0 failed)",
        "[########################------] 4/5 (0 failed)",
        "[##############################] 5/5 (0 failed)",
        "t.cmd: 5 stored, 0 failed, 0 skipped (already running), 3 chunks",
    ]
    assert [cachedfuncs.square.peek(n) for n in range(5)] == [0, 1, 4, 9, 16]
    assert all(c.endswith(":MainThread") for c in records.recorded())


@pytest.mark.celery_worker
def test_wait_follows_the_worker_and_reports_failures(celery_app, records):
    warmer(cachedfuncs.flaky, name="t.cmdwait", args=lambda: [2, 4, 6], chunk_size=1)
    with running_worker(celery_app):
        lines = run("t.cmdwait", "--wait", "--timeout", "60")
    assert lines[0].startswith("t.cmdwait: enqueued perfkit.warm ")
    assert lines[-3:] == [
        "[##############################] 3/3 (1 failed)",
        "t.cmdwait: 2 stored, 1 failed, 0 skipped (already running), 3 chunks",
        "  failed [4] {}: ValueError: four is not allowed",
    ]


def test_errors_name_the_problem():
    with pytest.raises(CommandError, match=r"^Name the warmers to run, or pass --all"):
        run()
    with pytest.raises(CommandError, match=r"^No warmer named 't\.missing' \(known: "):
        run("t.missing", "--sync")
