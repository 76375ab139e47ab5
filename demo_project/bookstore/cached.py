"""The demo's cached variants: service functions with @cached, views with @cached_view.

Each function names what it reads in ``depends_on``; any ORM write to those tables (or, for
``(Model, pk)`` pairs, to that row) invalidates the entries that depend on it.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from demo_project.bookstore import services
from demo_project.bookstore.models import Author, Book, Publisher, Review, Tag
from demo_project.bookstore.views import _paging
from perfkit.cache import cached, cached_view

LIST_TABLES = [Book, Author, Publisher, Tag, Review]


@cached(timeout=300, depends_on=LIST_TABLES, stale=60)
def book_list(page: int = 1, size: int = services.DEFAULT_PAGE_SIZE) -> list[dict[str, Any]]:
    """``services.book_list_optimised``, cached until a book, author, tag or review changes."""
    return services.book_list_optimised(page, size)


@cached(
    timeout=600,
    depends_on=lambda book_id: [(Book, book_id), Author, Publisher, Tag, Review],
)
def book_detail(book_id: int) -> dict[str, Any]:
    """One book; a write to another book leaves this entry alone."""
    return services.book_detail(book_id)


@cached(timeout=600, depends_on=lambda author_id: [(Author, author_id), Book, Publisher, Review])
def author_page(author_id: int) -> dict[str, Any]:
    return services.author_page(author_id)


def book_list_view(request: HttpRequest) -> HttpResponse:
    page, size = _paging(request)
    books = book_list(page, size)
    return render(request, "bookstore/book_list.html", {"books": books, "variant": "cached"})


def book_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        book = book_detail(pk)
    except Book.DoesNotExist:
        raise Http404(f"no book with id {pk}") from None
    return render(request, "bookstore/book_detail.html", {"book": book})


def author_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        author = author_page(pk)
    except Author.DoesNotExist:
        raise Http404(f"no author with id {pk}") from None
    return render(request, "bookstore/author_detail.html", {"author": author})


@cached_view(300, depends_on=LIST_TABLES)
def api_books(request: HttpRequest) -> JsonResponse:
    """The JSON API with the whole response cached (anonymous GETs only)."""
    page, size = _paging(request)
    return JsonResponse({"page": page, "size": size, "results": book_list(page, size)})
