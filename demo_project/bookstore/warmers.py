"""The demo's cache warmers (discovered by perfkit.warming in every app's ``warmers.py``).

python manage.py perfkit_warm --list
python manage.py perfkit_warm demo.book_list --sync        # no broker needed
python manage.py perfkit_warm --all --wait                 # through the Celery workers
python manage.py perfkit_sync_beat                         # schedules -> django-celery-beat
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from demo_project.bookstore import cached
from demo_project.bookstore.models import Author, Book
from perfkit.warming import warmer

LIST_PAGES = 5


# the first pages of the book list: what every visitor sees, so the most urgent warmer
@warmer(cached.book_list, name="demo.book_list", priority=9, schedule=300)
def book_list_pages() -> Iterable[tuple[int]]:
    return [(page,) for page in range(1, LIST_PAGES + 1)]


# every book's detail page, in chunks of 200, every 15 minutes
@warmer(
    cached.book_detail,
    name="demo.book_detail",
    priority=3,
    chunk_size=200,
    schedule="*/15 * * * *",
)
def book_ids() -> QuerySet[Book, int]:
    return Book.objects.order_by("id").values_list("id", flat=True)


# author pages: on demand only (no schedule), after an import for example
@warmer(cached.author_page, name="demo.author_page", priority=5, chunk_size=100)
def author_ids() -> QuerySet[Author, int]:
    return Author.objects.order_by("id").values_list("id", flat=True)
