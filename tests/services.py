"""Is a real service reachable? Skip locally when it is not; fail under CI=true."""

from __future__ import annotations

import functools
import os
import socket

import pytest

SERVICES = {
    "redis": ("127.0.0.1", 6379, "redis-server --daemonize yes --bind 127.0.0.1 --port 6379"),
    "postgres": (
        "127.0.0.1",
        5432,
        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    ),
    "rabbitmq": ("127.0.0.1", 5672, "rabbitmq-server -detached"),
}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@functools.cache
def reachable(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_service(name: str) -> None:
    """Skip the calling test when ``name`` is down; under ``CI=true`` fail it instead."""
    host, port, start = SERVICES[name]
    if reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}; start it with: {start}"
    if in_ci():
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)
