from __future__ import annotations

from demo_project.bookstore import cached, services
from demo_project.bookstore.models import Author, Book, Review
from perfkit.cache import MISSING


def test_cached_services_match_the_uncached_ones(bookstore, django_assert_num_queries):
    assert cached.book_list(1, 10) == services.book_list_optimised(1, 10)
    with django_assert_num_queries(0):
        cached.book_list(1, 10)
    first = Book.objects.order_by("id").first()
    assert cached.book_detail(first.pk) == services.book_detail(first.pk)
    author = Author.objects.order_by("id").first()
    assert cached.author_page(author.pk) == services.author_page(author.pk)


def test_writes_invalidate_the_demo_entries(bookstore):
    first, second = Book.objects.order_by("id")[:2]
    cached.book_detail(first.pk), cached.book_detail(second.pk), cached.book_list(1, 10)
    Book.objects.filter(pk=first.pk).update(title="Renamed")
    assert cached.book_detail.peek(first.pk) is MISSING
    assert cached.book_detail.peek(second.pk) is not MISSING
    assert cached.book_list.peek(1, 10) is MISSING
    assert cached.book_list(1, 10)[0]["title"] == "Renamed"
    Review.objects.filter(book=second).delete()
    assert cached.book_detail(second.pk)["reviews"] == 0


def test_cached_pages(client, bookstore, settings):
    settings.DEBUG = True
    book = Book.objects.order_by("id").first()
    for url in [
        "/books/cached/",
        f"/books/{book.pk}/cached/",
        f"/authors/{book.author_id}/cached/",
    ]:
        assert client.get(url).status_code == 200
    first = client.get("/api/books/cached/?size=5")
    second = client.get("/api/books/cached/?size=5")
    assert first.json() == second.json()
    assert (first["X-Perfkit-Cache"], second["X-Perfkit-Cache"]) == ("miss", "hit")
    assert client.get("/books/999999/cached/").status_code == 404
