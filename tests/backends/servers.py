"""Private redis-server processes for tests: started on a free port, killed, restarted."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.services import in_ci

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ping(port: int | None, unixsocket: str | None, tls: bool) -> bool:
    if tls:  # the TLS port accepts TCP: enough to know it listens
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False
    try:
        if unixsocket:
            sock = socket.socket(socket.AF_UNIX)
            sock.settimeout(0.2)
            sock.connect(unixsocket)
        else:
            sock = socket.create_connection(("127.0.0.1", port), timeout=0.2)
        with sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server of this test process: no persistence, loopback only."""

    def __init__(self, *, unixsocket: bool = False, tls: bool = False, args: tuple = ()) -> None:
        if not os.path.exists(REDIS_SERVER):
            message = f"{REDIS_SERVER} is not installed (apt-get install redis-server)"
            if in_ci():
                pytest.fail(f"CI=true and {message}", pytrace=False)
            pytest.skip(message)
        self.dir = Path(tempfile.mkdtemp(prefix=f"perfkit-redis-{os.getpid()}-"))
        self.port = free_port()
        self.tls = tls
        self.unixsocket = str(self.dir / "redis.sock") if unixsocket else None
        self.args = list(args)
        self.process: subprocess.Popen[bytes] | None = None
        if tls:
            self._make_certificate()
        self.start()

    def _make_certificate(self) -> None:
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-keyout",
                str(self.dir / "key.pem"),
                "-out",
                str(self.dir / "cert.pem"),
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )

    @property
    def cert(self) -> str:
        return str(self.dir / "cert.pem")

    def command(self) -> list[str]:
        cmd = [REDIS_SERVER, "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"]
        cmd += ["--dir", str(self.dir), "--daemonize", "no", "--loglevel", "warning"]
        if self.tls:
            cmd += ["--port", "0", "--tls-port", str(self.port), "--tls-auth-clients", "no"]
            cmd += ["--tls-cert-file", self.cert, "--tls-key-file", str(self.dir / "key.pem")]
            cmd += ["--tls-ca-cert-file", self.cert]
        else:
            cmd += ["--port", str(self.port)]
        if self.unixsocket:
            cmd += ["--unixsocket", self.unixsocket]
        return cmd + self.args

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while not _ping(self.port, self.unixsocket, self.tls):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: {' '.join(self.command())}")
            time.sleep(0.02)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def pause(self) -> None:
        """Freeze the server: connections stay open, nothing answers (a hung Redis)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class Sentinel:
    """A redis-server in sentinel mode watching ``master`` as service "perfkit"."""

    def __init__(self, master: RedisServer, service: str = "perfkit") -> None:
        self.port = free_port()
        self.conf = master.dir / f"sentinel-{self.port}.conf"
        self.conf.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {master.dir}\n"
            f"sentinel monitor {service} 127.0.0.1 {master.port} 1\n"
        )
        self.process = subprocess.Popen(
            [REDIS_SERVER, str(self.conf), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not _ping(self.port, None, False):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis sentinel did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
