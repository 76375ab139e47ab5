from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from demo_project.bookstore import services
from demo_project.bookstore.models import Author, Book

pytestmark = pytest.mark.django_db


def count_queries(func, *args):
    with CaptureQueriesContext(connection) as ctx:
        result = func(*args)
    return result, len(ctx.captured_queries)


def test_naive_and_optimised_lists_give_the_same_data(bookstore):
    naive, _ = count_queries(services.book_list_naive, 1, 20)
    optimised, _ = count_queries(services.book_list_optimised, 1, 20)
    assert len(naive) == 20
    assert naive == optimised


@pytest.mark.parametrize("size", [5, 10, 20])
def test_naive_grows_with_page_size_optimised_is_constant(bookstore, size):
    _, naive = count_queries(services.book_list_naive, 1, size)
    _, optimised = count_queries(services.book_list_optimised, 1, size)
    # one query for the page, then author, publisher, tags and review count per book
    assert naive == 1 + 4 * size
    # the page with authors, publishers and counts; then the prefetched tags
    assert optimised == 2


def test_pages_render(client, bookstore):
    book = Book.objects.first()
    author = Author.objects.first()
    for url in [
        "/",
        "/books/?size=5",
        "/books/naive/?size=5&page=2",
        f"/books/{book.pk}/",
        f"/authors/{author.pk}/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
    assert book.title.encode() in client.get(f"/books/{book.pk}/").content


def test_json_endpoint(client, bookstore):
    data = client.get("/api/books/?size=3").json()
    assert data["page"] == 1
    assert [row["id"] for row in data["results"]] == list(
        Book.objects.order_by("id").values_list("id", flat=True)[:3]
    )


@pytest.mark.parametrize("query", ["?size=0", "?size=abc", "?page=0", "?size=1000"])
def test_bad_paging_is_404(client, bookstore, query):
    assert client.get("/books/" + query).status_code == 404


def test_missing_objects_are_404(client, bookstore):
    assert client.get("/books/999999/").status_code == 404
    assert client.get("/authors/999999/").status_code == 404
