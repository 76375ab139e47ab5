"""redis+cluster://: perfkit's caching on a real 3-master Redis Cluster of private servers."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings

from demo_project.bookstore.models import Author
from perfkit.backends import cache_url
from perfkit.cache import cached, registry
from perfkit.conf import perfkit_settings
from tests.backends.servers import RedisClusterServers


@pytest.fixture(scope="module")
def cluster():
    servers = RedisClusterServers()
    yield servers
    servers.stop()


@pytest.fixture
def cluster_cache(cluster, fake_clock, monkeypatch):
    entry = cache_url(cluster.url, key_prefix="t", socket_timeout=0.3)
    with override_settings(CACHES={**settings.CACHES, "cluster": entry}):
        cache = caches["cluster"]
        cache.perfkit_breaker.reset()
        monkeypatch.setattr(cache.perfkit_breaker, "clock", fake_clock)
        cache.clear()
        yield cache


def test_cluster_url():
    assert cache_url("redis+cluster://:pw@10.0.0.1:7000,10.0.0.2/?socket_timeout=1") == {
        "BACKEND": "perfkit.backends.resilient.RedisClusterCache",
        "LOCATION": "10.0.0.1:7000,10.0.0.2:6379",
        "OPTIONS": {
            "socket_connect_timeout": 0.25,
            "socket_timeout": 1.0,
            "max_connections": 100,
            "password": "pw",
        },
    }
    with pytest.raises(ValueError, match="database 0 only"):
        cache_url("redis+cluster://10.0.0.1:7000/3")
    with pytest.raises(ValueError, match="'serializer' does not apply"):
        cache_url("redis+cluster://10.0.0.1:7000/?serializer=json")


def test_cluster_url_over_tls():
    ca = "/etc/ssl/redis-ca.pem"
    assert cache_url(f"rediss+cluster://10.0.0.1:7000/?ssl_ca_certs={ca}&ssl_cert_reqs=none") == {
        "BACKEND": "perfkit.backends.resilient.RedisClusterCache",
        "LOCATION": "10.0.0.1:7000",
        "OPTIONS": {
            "socket_connect_timeout": 0.25,
            "socket_timeout": 0.5,
            "max_connections": 100,
            "ssl": True,
            "ssl_ca_certs": ca,
            "ssl_cert_reqs": "none",
        },
    }
    with pytest.raises(ValueError, match=r"ssl_ca_certs apply to TLS .* write rediss\+cluster://"):
        cache_url(f"redis+cluster://10.0.0.1:7000/?ssl_ca_certs={ca}")
    with pytest.raises(ValueError, match=r"rediss\+cluster:// \(redis-py's RedisCluster"):
        cache_url("rediss+cluster://10.0.0.1:7000/?compressor=zlib")


def _slots(cache, keys):
    return {cache.client.keyslot(cache.make_key(k)) for k in keys}


def test_cache_api_across_slots(cluster_cache):
    cache = cluster_cache
    data = {f"book-{n}": {"n": n} for n in range(20)}
    assert len(_slots(cache, data)) > 1  # the keys live on different slots (and nodes)
    assert cache.set_many(data, 60) == []
    assert cache.get_many([*data, "absent"]) == data  # no CROSSSLOT error
    assert cache.add("book-1", "x") is False
    cache.set("count", 1)
    assert cache.incr("count", 2) == 3
    assert cache.touch("count", 0) is True
    assert cache.get("count") is None
    cache.delete_many(list(data))
    assert cache.get_many(list(data)) == {}


@pytest.mark.django_db
def test_cached_invalidation_and_fail_open_when_a_master_dies(cluster, cluster_cache, fake_clock):
    cache = cluster_cache
    calls = []

    @cached(cache="cluster", depends_on=[Author])
    def author_count_label() -> str:
        calls.append(1)
        return f"call {len(calls)}"

    generation = f"{perfkit_settings.KEY_PREFIX}:g:bookstore.author"
    try:
        assert author_count_label() == "call 1"
        assert author_count_label() == "call 1"  # a hit: entry and generation read per node
        entry = next(k for k in cache.client.keys("t:*") if b":g:" not in k).decode()
        assert cache.client.keyslot(entry) != cache.client.keyslot(cache.make_key(generation))
        Author.objects.create(name="Le Guin")
        assert author_count_label() == "call 2"  # invalidated across slots

        # the master holding the generation dies (no replica): fail open, computed uncached
        port = cache.client.get_node_from_key(cache.make_key(generation)).port
        victim = next(n for n in cluster.nodes if n.port == port)
        victim.kill()
        assert author_count_label() == "call 3"
        assert author_count_label() == "call 4"  # uncached while down: never a stale "call 2"
        Author.objects.create(name="Butler")  # its invalidation cannot reach the dead node

        victim.start()  # back on the same port, empty
        cluster.wait_ok()
        fake_clock.advance(60)  # past the breaker's cool-down
        first = author_count_label()
        assert first == "call 5"  # no stale read: recomputed after the node came back
        assert author_count_label() in {first, "call 6"}
        assert author_count_label() == author_count_label()  # cached again
    finally:
        registry.pop(author_count_label.perfkit_name, None)


def test_doctor_probes_the_cluster(cluster_cache):
    from perfkit.backends.doctor import probe_cache

    probe, errors = probe_cache("cluster")
    assert (probe.ok, probe.kind, errors) == (True, "redis-cluster", [])


def test_cached_view_and_warming_on_the_cluster(cluster_cache):
    from django.http import HttpResponse
    from django.test import RequestFactory

    from perfkit.cache import cached_view

    @cached_view(60, cache="cluster")
    def page(request):
        return HttpResponse("books")

    @cached(cache="cluster", timeout=60)
    def price(book_id: int) -> int:
        return book_id * 100

    try:
        with override_settings(DEBUG=True):
            assert page(RequestFactory().get("/books/"))["X-Perfkit-Cache"] == "miss"
            assert page(RequestFactory().get("/books/"))["X-Perfkit-Cache"] == "hit"
        result = price.warm_many([((n,), {}) for n in range(10)])  # keys on many slots
        assert result.stored == 10
        assert [price.peek(n) for n in range(10)] == [n * 100 for n in range(10)]
    finally:
        registry.pop(page.perfkit_cached.perfkit_name, None)
        registry.pop(price.perfkit_name, None)
