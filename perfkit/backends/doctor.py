"""Health probes shared by ``perfkit_doctor`` and the deploy checks: ids perfkit.E201-E204.

For every cache alias: a set/get/delete round trip through the backend's strict view (so a
fail-open backend cannot hide its failure) with the latency of each call; for a DatabaseCache,
its table.  When Celery is configured (a broker URL, not always-eager): the broker and the result
backend answer.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.cache import caches
from django.db import connections, router

from perfkit.backends.findings import (
    Finding,
    backend_kind,
    caches_setting,
    celery_urls,
    config_findings,
)
from perfkit.backends.urlspec import masked
from perfkit.internals.redis import database_cache_table

__all__ = ["CacheProbe", "Diagnosis", "ServiceProbe", "diagnose", "probe_cache", "probe_service"]

_TIMEOUT = 1.0


@dataclass
class CacheProbe:
    alias: str
    backend: str
    kind: str
    location: str
    ok: bool
    latency_ms: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    # the circuit breaker of a resilient backend (perfkit.backends): its state and how many
    # calls of this process got the fail-open default (read before the probe's own calls)
    breaker: dict[str, Any] | None = None


@dataclass
class ServiceProbe:
    name: str
    url: str
    ok: bool | None  # None: not checked
    latency_ms: float | None = None
    error: str | None = None


@dataclass
class Diagnosis:
    caches: list[CacheProbe]
    services: list[ServiceProbe]
    findings: list[Finding]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": not self.errors,
            "caches": [asdict(c) for c in self.caches],
            "services": [asdict(s) for s in self.services],
            "findings": [f.as_dict() for f in self.findings],
        }


def _missing_table(cache: Any) -> str | None:
    """The name of the DatabaseCache's table when it does not exist, else None."""
    using = router.db_for_read(cache.cache_model_class)
    with connections[using].cursor() as cursor:
        tables = connections[using].introspection.table_names(cursor)
    table = database_cache_table(cache)
    return None if table in tables else table


def probe_cache(alias: str) -> tuple[CacheProbe, list[Finding]]:
    """Round trip through ``caches[alias]``; the probe and the errors it found (E201, E202)."""
    config = caches_setting()[alias]
    kind = backend_kind(str(config.get("BACKEND", "")))
    location = config.get("LOCATION", "")
    probe = CacheProbe(alias, str(config.get("BACKEND")), kind, masked(str(location)), False)
    try:
        cache = caches[alias]
        breaker = getattr(cache, "perfkit_breaker", None)
        if breaker is not None:
            probe.breaker = breaker.report()
        if kind == "db":
            table = _missing_table(cache)
            if table:
                probe.error = f"table {table!r} does not exist"
                return probe, [
                    Finding(
                        "perfkit.E202",
                        "error",
                        alias,
                        f"Cache {alias!r} is a DatabaseCache whose table {table!r} does not "
                        "exist: every cache call fails.",
                        "run `python manage.py createcachetable`",
                    )
                ]
        backend = getattr(cache, "perfkit_strict", cache)
        key, value = f"perfkit-doctor:{uuid.uuid4().hex}", {"perfkit": "doctor"}
        for name, call in (
            ("connect", lambda: backend.get(key)),  # the first call pays for connecting
            ("set", lambda: backend.set(key, value, 30)),
            ("get", lambda: backend.get(key)),
            ("delete", lambda: backend.delete(key)),
        ):
            start = time.perf_counter()
            result = call()
            probe.latency_ms[name] = round((time.perf_counter() - start) * 1000, 3)
            if name == "get" and result != value and kind != "dummy":
                raise RuntimeError(f"read back {result!r} instead of what it wrote")
    except Exception as exc:
        probe.error = f"{type(exc).__name__}: {exc}"
        return probe, [
            Finding(
                "perfkit.E201",
                "error",
                alias,
                f"Cache {alias!r} ({probe.location}) failed a set/get/delete round trip: "
                f"{probe.error}",
                "Check that the server is running and reachable from this host, and the "
                "LOCATION and credentials in CACHES.",
            )
        ]
    probe.ok = True
    return probe, []


def _ping(url: str) -> None:
    if url.startswith(("redis://", "rediss://", "unix://")):
        import redis

        client = redis.Redis.from_url(
            url, socket_connect_timeout=_TIMEOUT, socket_timeout=_TIMEOUT
        )
        try:
            client.ping()
        finally:
            client.close()
        return
    from kombu import Connection

    with Connection(url, connect_timeout=_TIMEOUT) as connection:
        connection.ensure_connection(max_retries=0, timeout=int(_TIMEOUT))


def probe_service(name: str, url: str) -> ServiceProbe:
    """Does the Celery ``name`` ("broker" or "result backend") at ``url`` answer?"""
    scheme = url.partition("://")[0] if "://" in url else url
    if name == "result backend" and not url.startswith(("redis", "rediss:", "unix:", "amqp")):
        if scheme == "django-db":
            from django.apps import apps

            installed = apps.is_installed("django_celery_results")
            error = None if installed else "django_celery_results is not in INSTALLED_APPS"
            return ServiceProbe(name, url, installed, error=error)
        return ServiceProbe(name, masked(url), None, error=f"{scheme} results are not checked")
    start = time.perf_counter()
    try:
        _ping(url)
    except Exception as exc:
        return ServiceProbe(name, masked(url), False, error=f"{type(exc).__name__}: {exc}")
    return ServiceProbe(name, masked(url), True, round((time.perf_counter() - start) * 1000, 3))


def diagnose(aliases: list[str] | None = None, *, probe: bool = True) -> Diagnosis:
    """Probe every cache alias (or ``aliases``) and Celery; configuration findings included."""
    result = Diagnosis([], [], config_findings())
    if aliases is not None:
        result.findings = [f for f in result.findings if f.alias in aliases]
    if not probe:
        return result
    for alias in aliases if aliases is not None else list(caches_setting()):
        cache_probe, errors = probe_cache(alias)
        result.caches.append(cache_probe)
        result.findings.extend(errors)
    for name, url in celery_urls().items():
        service = probe_service(name, url)
        result.services.append(service)
        if service.ok is False:
            result.findings.append(
                Finding(
                    "perfkit.E203" if name == "broker" else "perfkit.E204",
                    "error",
                    None,
                    f"The Celery {name} {service.url} does not answer: {service.error}",
                    "Start it, or fix CELERY_BROKER_URL / CELERY_RESULT_BACKEND; perfkit's "
                    "warming and background refresh need it.",
                )
            )
    return result
