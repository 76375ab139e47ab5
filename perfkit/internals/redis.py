"""Private parts of redis-py, django-redis and Django's cache backends that perfkit.backends uses.

Nothing is patched (``install``/``uninstall`` are no-ops); each accessor names one private
attribute, so an upgrade that changes it breaks here (and in tests/internals/test_redis.py), not
somewhere in perfkit.backends.

Supported: redis-py 5-8, django-redis 5.4-7, Django 5.2-6.1; the internals below have the same
shape in all of them.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "builtin_cache_client",
    "connected_socket",
    "connection_factory_pools",
    "database_cache_table",
    "install",
    "redis_parser_class",
    "reuse_builtin_clients",
    "uninstall",
]

# cache_url's ``parser`` option -> redis-py's parser class (private in redis-py >= 5; the
# strings "perfkit.internals.redis.HiredisParser"/"PythonParser" resolve through __getattr__)
_PARSERS = {"hiredis": "HiredisParser", "python": "PythonParser"}


def install() -> None:
    """Nothing to patch."""


def uninstall() -> None:
    """Nothing to restore."""


def redis_parser_class(name: str) -> type:
    """redis-py's parser class for cache_url's ``parser`` option: "hiredis" or "python"."""
    import redis.connection

    if name == "hiredis":
        return redis.connection._HiredisParser  # type: ignore[attr-defined,no-any-return]
    if name == "python":
        return redis.connection._RESP2Parser  # type: ignore[attr-defined,no-any-return]
    raise ValueError(f"unknown redis-py parser {name!r}: use 'hiredis' or 'python'.")


def __getattr__(name: str) -> Any:
    # lets settings name the parser by a perfkit path that django-redis/Django import_string()
    for option, attribute in _PARSERS.items():
        if name == attribute:
            return redis_parser_class(option)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def connection_factory_pools(factory: Any) -> dict[Any, Any]:
    """django-redis ``ConnectionFactory._pools``: its process-wide pool per key (a class dict)."""
    pools: dict[Any, Any] = factory._pools
    return pools


def reuse_builtin_clients(client: Any) -> None:
    """Make Django's ``RedisCacheClient`` build one ``redis.Redis`` per connection pool and reuse
    it, instead of a new one on every ``get_client()`` (its ``_client`` is the Redis class)."""
    make = client._client
    made: dict[int, tuple[Any, Any]] = {}

    def reused(connection_pool: Any) -> Any:
        found = made.get(id(connection_pool))
        if found is None or found[0] is not connection_pool:
            found = made[id(connection_pool)] = (
                connection_pool,
                make(connection_pool=connection_pool),
            )
        return found[1]

    client._client = reused


def builtin_cache_client(cache: Any) -> Any:
    """Django's ``RedisCache`` client (its ``_cache`` cached property: built on first access,
    without connecting)."""
    return cache._cache


def database_cache_table(cache: Any) -> str:
    """The table name of a Django ``DatabaseCache`` (``_table``)."""
    table: str = cache._table
    return table


def connected_socket(connection: Any) -> Any:
    """The socket of a redis-py ``Connection`` (``_sock``), connected and past its handshake
    (AUTH, SELECT, CLIENT SETNAME): perfkit.cache.fastredis then talks on it directly."""
    if connection._sock is None:
        connection.connect()
    return connection._sock
