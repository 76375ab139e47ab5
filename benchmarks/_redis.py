"""A private, throw-away redis-server for the benchmarks (no persistence, free port, CPU 0).

Client and server pinned to the same CPU: across CPUs every round trip on these machines gains
100-300 us of wake-up latency, and the benchmark would measure the hypervisor, not the code.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time


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


def start_redis(workdir: str, *, port: int | None = None) -> tuple[subprocess.Popen, int]:
    """Start redis-server pinned to CPU 0 in ``workdir``; return the process and its port."""
    server = shutil.which("redis-server")
    if server is None:
        sys.exit("the benchmarks need redis-server on PATH (apt-get install redis-server)")
    port = port or free_port()
    cmd = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    cmd += ["--dir", workdir, "--loglevel", "warning"]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    process = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL)
    for _ in range(200):
        if reachable(port, timeout=0.1):
            return process, port
        time.sleep(0.05)
    process.terminate()
    sys.exit(f"redis-server did not start on 127.0.0.1:{port} within 10 s")
