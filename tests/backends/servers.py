"""Private redis-server processes for tests: started on a free port, killed, restarted."""

from __future__ import annotations

import os
import random
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

    def __init__(
        self,
        *,
        unixsocket: bool = False,
        tls: bool = False,
        args: tuple = (),
        port: int | None = None,
    ) -> None:
        if not os.path.exists(REDIS_SERVER):
            message = f"{REDIS_SERVER} is not installed (apt-get install redis-server)"
            if in_ci():
                pytest.fail(f"CI=true and {message}", pytrace=False)
            pytest.skip(message)
        self.dir = Path(tempfile.mkdtemp(prefix=f"perfkit-redis-{os.getpid()}-"))
        self.port = port or free_port()
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


_ALONE = ("--cluster-replicas", "0", "--cluster-yes")
_CLUSTER_ARGS = (
    "--cluster-enabled",
    "yes",
    "--cluster-config-file",
    "nodes.conf",
    "--cluster-node-timeout",
    "1000",
    "--cluster-require-full-coverage",
    "no",  # the surviving masters keep answering for their slots
)


def _cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free and valid too."""
    for _ in range(100):
        port = random.randint(20000, 50000)
        try:
            for candidate in (port, port + 10000):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


class RedisClusterServers:
    """Three private redis-server masters (no replicas) joined into one Redis Cluster."""

    def __init__(self, masters: int = 3) -> None:
        self.nodes: list[RedisServer] = []
        try:
            for _ in range(masters):
                self.nodes.append(RedisServer(port=_cluster_port(), args=_CLUSTER_ARGS))
            self._create()
        except BaseException:
            self.stop()  # never leave a half-built cluster running
            raise

    def _create(self) -> None:
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        subprocess.run(
            [shutil.which("redis-cli") or "redis-cli", "--cluster", "create", *addresses, *_ALONE],
            check=True,
            capture_output=True,
        )
        self.wait_ok()

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)

    def _info(self, node: RedisServer) -> str:
        with socket.create_connection(("127.0.0.1", node.port), timeout=0.5) as sock:
            sock.sendall(b"CLUSTER INFO\r\n")
            return sock.recv(4096).decode(errors="replace")

    def wait_ok(self, timeout: float = 20.0) -> None:
        """Until every running node says cluster_state:ok (redis-server's own gossip)."""
        deadline = time.monotonic() + timeout
        while True:
            running = [n for n in self.nodes if n.process and n.process.poll() is None]
            try:
                if all("cluster_state:ok" in self._info(n) for n in running):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")
            time.sleep(0.05)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
