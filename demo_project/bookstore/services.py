"""The demo's data access, written twice: the naive way (N+1) and the optimised way.

Both return the same plain data (lists of dicts), so they can be compared, cached and sent as
JSON.  Views and benchmark scenarios call these functions.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Avg, Count, Prefetch

from demo_project.bookstore.models import Author, Book, Review

DEFAULT_PAGE_SIZE = 50


def _page(page: int, size: int) -> slice:
    if size < 1 or page < 1:
        raise ValueError(f"page and size must be >= 1, got page={page!r}, size={size!r}")
    return slice((page - 1) * size, page * size)


def _book_row(book: Book, tags: list[str], review_count: int) -> dict[str, Any]:
    return {
        "id": book.pk,
        "title": book.title,
        "isbn": book.isbn,
        "author": {"id": book.author.pk, "name": book.author.name},
        "publisher": book.publisher.name,
        "tags": tags,
        "price": str(book.price),
        "published": book.published.isoformat(),
        "reviews": review_count,
    }


def book_list_naive(page: int = 1, size: int = DEFAULT_PAGE_SIZE) -> list[dict[str, Any]]:
    """The book list as first written: one query per author, publisher, tag list and count."""
    books = Book.objects.order_by("id")[_page(page, size)]
    return [
        _book_row(book, [t.name for t in book.tags.order_by("name")], book.reviews.count())
        for book in books
    ]


def book_list_optimised(page: int = 1, size: int = DEFAULT_PAGE_SIZE) -> list[dict[str, Any]]:
    """The same list in a constant number of queries (select_related, prefetch, annotate)."""
    books = (
        Book.objects.order_by("id")
        .select_related("author", "publisher")
        .prefetch_related("tags")
        .annotate(review_count=Count("reviews"))[_page(page, size)]
    )
    return [
        _book_row(book, sorted(t.name for t in book.tags.all()), book.review_count)
        for book in books
    ]


def book_detail(book_id: int) -> dict[str, Any]:
    """One book with its tags, rating summary and latest reviews."""
    book = (
        Book.objects.select_related("author", "publisher").prefetch_related("tags").get(pk=book_id)
    )
    summary = book.reviews.aggregate(count=Count("id"), average=Avg("rating"))
    latest = (
        Review.objects.filter(book_id=book_id).select_related("user").order_by("-created", "-id")
    )[:10]
    row = _book_row(book, sorted(t.name for t in book.tags.all()), summary["count"])
    row["pages"] = book.pages
    row["average_rating"] = round(summary["average"], 2) if summary["average"] else None
    row["latest_reviews"] = [
        {
            "user": r.user.username,
            "rating": r.rating,
            "body": r.body,
            "created": r.created.isoformat(),
        }
        for r in latest
    ]
    return row


def author_page(author_id: int) -> dict[str, Any]:
    """An author with every book and each book's review count and average rating."""
    author = Author.objects.prefetch_related(
        Prefetch(
            "books",
            queryset=Book.objects.order_by("published", "id")
            .select_related("publisher")
            .annotate(review_count=Count("reviews"), average=Avg("reviews__rating")),
        )
    ).get(pk=author_id)
    books: list[Any] = list(author.books.all())  # annotated by the Prefetch: review_count, average
    return {
        "id": author.pk,
        "name": author.name,
        "country": author.country,
        "birth_year": author.birth_year,
        "books": [
            {
                "id": b.pk,
                "title": b.title,
                "publisher": b.publisher.name,
                "published": b.published.isoformat(),
                "reviews": b.review_count,
                "average_rating": round(b.average, 2) if b.average else None,
            }
            for b in books
        ],
    }
