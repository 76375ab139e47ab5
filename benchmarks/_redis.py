"""Private, throw-away redis-servers for the benchmarks (no persistence, free port, CPU 0).

Client and server pinned to the same CPU: across CPUs every round trip on these machines gains
100-300 us of wake-up latency, and the benchmark would measure the hypervisor, not the code.
``private_redis()`` does all of it (pin this process, a temporary directory, the servers, their
clean-up); ``start_redis()`` starts one server in a directory the caller owns.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence


def reachable(port: int, timeout: float = 0.3) -> bool:
    """Does something accept TCP connections on 127.0.0.1:port?"""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pin() -> None:
    """Pin this process (and the children it starts afterwards) to CPU 0, where it can."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})


def start_redis(
    workdir: str, *, port: int | None = None, extra: Sequence[str] = ()
) -> tuple[subprocess.Popen, int]:
    """Start redis-server pinned to CPU 0 in ``workdir``; return the process and its port.

    ``extra``: more redis-server arguments (``--cluster-enabled yes ...`` for a cluster node).
    """
    server = shutil.which("redis-server")
    if server is None:
        sys.exit("the benchmarks need redis-server on PATH (apt-get install redis-server)")
    port = port or free_port()
    cmd = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    cmd += ["--dir", workdir, "--loglevel", "warning", *extra]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    process = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL)
    for _ in range(200):
        if reachable(port, timeout=0.1):
            return process, port
        time.sleep(0.05)
    process.terminate()
    sys.exit(f"redis-server did not start on 127.0.0.1:{port} within 10 s")


@contextlib.contextmanager
def private_redis(name: str) -> Iterator[Callable[..., int]]:
    """Pin this process to CPU 0 and yield ``start(port=None, extra=())`` -> port.

    Every server started goes into one temporary directory; all are stopped and the directory
    removed on exit, whatever happened.
    """
    pin()
    workdir = tempfile.mkdtemp(prefix=f"perfkit-bench-{name}-{os.getpid()}-")
    processes: list[subprocess.Popen] = []

    def start(port: int | None = None, extra: Sequence[str] = ()) -> int:
        process, port = start_redis(workdir, port=port, extra=extra)
        processes.append(process)
        return port

    try:
        yield start
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
