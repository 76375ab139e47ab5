"""The demo's pages: a naive (N+1) and an optimised book list, detail, author page, JSON API."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from demo_project.bookstore import services
from demo_project.bookstore.models import Author, Book

MAX_PAGE_SIZE = 200


def _paging(request: HttpRequest) -> tuple[int, int]:
    try:
        page = int(request.GET.get("page", 1))
        size = int(request.GET.get("size", services.DEFAULT_PAGE_SIZE))
    except ValueError:
        raise Http404("page and size must be whole numbers") from None
    if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        raise Http404(f"page must be >= 1 and size between 1 and {MAX_PAGE_SIZE}")
    return page, size


def book_list_naive(request: HttpRequest) -> HttpResponse:
    page, size = _paging(request)
    books = services.book_list_naive(page, size)
    return render(request, "bookstore/book_list.html", {"books": books, "variant": "naive"})


def book_list(request: HttpRequest) -> HttpResponse:
    page, size = _paging(request)
    books = services.book_list_optimised(page, size)
    return render(request, "bookstore/book_list.html", {"books": books, "variant": "optimised"})


def book_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        book = services.book_detail(pk)
    except Book.DoesNotExist:
        raise Http404(f"no book with id {pk}") from None
    return render(request, "bookstore/book_detail.html", {"book": book})


def author_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        author = services.author_page(pk)
    except Author.DoesNotExist:
        raise Http404(f"no author with id {pk}") from None
    return render(request, "bookstore/author_detail.html", {"author": author})


def api_books(request: HttpRequest) -> JsonResponse:
    page, size = _paging(request)
    return JsonResponse(
        {"page": page, "size": size, "results": services.book_list_optimised(page, size)}
    )
