"""The demo's benchmark scenarios: naive vs optimised vs cached, as functions and as pages.

``manage.py perfkit_bench`` finds this module by autodiscovery (``perf_scenarios.py`` in an
installed app).  The cached variants come from ``bookstore/cached.py`` (``@cached`` functions,
a ``@cached_view``).
"""

from __future__ import annotations

from typing import Any

from demo_project.bookstore import cached, services
from demo_project.bookstore.models import Author, Book
from perfkit.bench import scenario

_ids: dict[str, Any] = {}


def _remember_ids() -> None:
    """Untimed setup: the first book and author of whatever data is seeded."""
    _ids["book"] = Book.objects.order_by("id").values_list("id", flat=True).first()
    _ids["author"] = Author.objects.order_by("id").values_list("id", flat=True).first()


@scenario("list-naive", tags=["list", "function"])
def list_naive() -> Any:
    """One page of 50 books, 1 + 4 queries per book."""
    return services.book_list_naive(1, 50)


@scenario("list-optimised", tags=["list", "function"])
def list_optimised() -> Any:
    """The same page in a constant number of queries."""
    return services.book_list_optimised(1, 50)


@scenario("list-cached", tags=["list", "function", "cached"])
def list_cached() -> Any:
    """The optimised page through @cached: zero queries once warm."""
    return cached.book_list(1, 50)


@scenario("book-detail", setup=_remember_ids, tags=["detail", "function"])
def book_detail() -> Any:
    return services.book_detail(_ids["book"])


@scenario("author-page", setup=_remember_ids, tags=["detail", "function"])
def author_page() -> Any:
    return services.author_page(_ids["author"])


@scenario("book-detail-cached", setup=_remember_ids, tags=["detail", "function", "cached"])
def book_detail_cached() -> Any:
    return cached.book_detail(_ids["book"])


@scenario("author-page-cached", setup=_remember_ids, tags=["detail", "function", "cached"])
def author_page_cached() -> Any:
    return cached.author_page(_ids["author"])


scenario("page-list-naive", url="/books/naive/", tags=["list", "page"])
scenario("page-list-optimised", url="/books/", tags=["list", "page"])
scenario("page-list-cached", url="/books/cached/", tags=["list", "page", "cached"])
scenario("api-books", url="/api/books/", tags=["list", "page"])
scenario("api-books-cached", url="/api/books/cached/", tags=["list", "page", "cached"])
