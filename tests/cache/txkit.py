"""Helpers of the transaction, raw SQL and replica tests: the three cache kinds, books on any
database, and "another connection" (a thread with its own database connection)."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import caches
from django.db import connection

from demo_project.bookstore.models import Author, Book, Publisher

CACHE_ALIASES = ["default", "redis", "db"]  # locmem, django-redis, DatabaseCache

# thread ident -> the title that thread's connection sees (SQLite cannot show it: see seen_by)
outside: dict[int, str] = {}


@pytest.fixture(params=CACHE_ALIASES)
def cache_alias(request: pytest.FixtureRequest) -> str:
    """Each cache kind the suite configures, as the alias a test passes to ``cache=``."""
    if request.param == "redis":
        request.getfixturevalue("redis_cache")
    if request.param == "db":
        request.getfixturevalue("db_cache")
        caches["db"].clear()  # transactional tests keep the table between tests
    return request.param


def make_book(title: str = "old", using: str = "default", **fields: Any) -> Book:
    author = Author.objects.using(using).create(name=f"A {title}")
    publisher = Publisher.objects.using(using).create(name=f"P {title}")
    values = {
        "title": title,
        "isbn": title,
        "author": author,
        "publisher": publisher,
        "published": datetime.date(2020, 1, 1),
        "price": 1,
        "pages": 1,
        **fields,
    }
    return Book.objects.using(using).create(**values)


def title_of(pk: Any, using: str = "default") -> str:
    """The book's title as this thread's connection sees it."""
    seen = outside.get(threading.get_ident())
    if seen is not None:
        return seen
    return Book.objects.using(using).get(pk=pk).title


def in_thread(func: Callable[..., Any], *args: Any, sqlite_sees: str | None = None) -> Any:
    """``func(*args)`` in another thread, on its own database connection.

    In-memory SQLite locks a table written by an open transaction against other connections,
    so there ``title_of`` returns ``sqlite_sees``: what another connection would read.
    """
    result: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        from django.db import connections

        if sqlite_sees is not None and connection.vendor == "sqlite":
            outside[threading.get_ident()] = sqlite_sees
        try:
            result.append(func(*args))
        except BaseException as exc:  # re-raised in the calling thread
            errors.append(exc)
        finally:
            outside.pop(threading.get_ident(), None)
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if errors:
        raise errors[0]
    return result[0]
