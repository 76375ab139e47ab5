"""Deterministic, fast, idempotent demo data (used by ``seed_demo`` and the benchmarks)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from demo_project.bookstore.models import Author, Book, Publisher, Review, Tag

T = TypeVar("T")
Progress = Callable[[str, int, int], None]

FIRST = [
    "Ada",
    "Alan",
    "Barbara",
    "Chinua",
    "Clarice",
    "Dorothy",
    "Elena",
    "Frank",
    "Gabriel",
    "Haruki",
    "Isabel",
    "Italo",
    "James",
    "Jorge",
    "Kazuo",
    "Leo",
    "Margaret",
    "Mary",
    "Naguib",
    "Octavia",
    "Orhan",
    "Pablo",
    "Rachel",
    "Salman",
    "Toni",
    "Ursula",
    "Virginia",
    "Wislawa",
    "Yasunari",
    "Zadie",
]
LAST = [
    "Achebe",
    "Atwood",
    "Borges",
    "Calvino",
    "Lispector",
    "Eco",
    "Ferrante",
    "Garcia",
    "Ishiguro",
    "Kawabata",
    "Le-Guin",
    "Mahfouz",
    "Morrison",
    "Murakami",
    "Nabokov",
    "Neruda",
    "Pamuk",
    "Rushdie",
    "Smith",
    "Szymborska",
    "Tolstoy",
    "Butler",
    "Woolf",
    "Allende",
    "Carson",
    "Shelley",
    "Turing",
    "Liskov",
    "Hopper",
    "Knuth",
]
WORDS = [
    "river",
    "night",
    "city",
    "garden",
    "silence",
    "memory",
    "winter",
    "house",
    "stone",
    "light",
    "shadow",
    "glass",
    "road",
    "empire",
    "ocean",
    "letter",
    "mirror",
    "island",
    "fire",
    "season",
    "machine",
    "dream",
    "clock",
    "forest",
    "storm",
    "harbor",
    "bridge",
    "tower",
    "voice",
    "labyrinth",
    "archive",
]
TAGS = [
    "fiction",
    "classic",
    "mystery",
    "fantasy",
    "science-fiction",
    "history",
    "biography",
    "poetry",
    "romance",
    "thriller",
    "horror",
    "travel",
    "philosophy",
    "economics",
    "programming",
    "databases",
    "mathematics",
    "art",
    "music",
    "cooking",
    "children",
    "young-adult",
    "essays",
    "drama",
    "satire",
    "memoir",
    "politics",
    "nature",
    "psychology",
    "design",
]
COUNTRIES = [
    "Nigeria",
    "Japan",
    "Italy",
    "Argentina",
    "Brazil",
    "UK",
    "USA",
    "Egypt",
    "Turkey",
    "Chile",
    "India",
    "Poland",
]
REVIEW_BODIES = (
    "Could not put it down.",
    "Slow start, strong finish.",
    "Not for me, but well written.",
    "A classic for a reason.",
    "Beautiful prose; thin plot.",
    "Read it twice in one week.",
)


@dataclass
class SeedResult:
    """How many rows of each kind ``seed`` created (0 everywhere on a re-run)."""

    tags: int = 0
    publishers: int = 0
    authors: int = 0
    users: int = 0
    books: int = 0
    reviews: int = 0


def _batches(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _noop(stage: str, done: int, total: int) -> None:
    pass


def isbn_for(index: int) -> str:
    """The ISBN of the demo's book number ``index``: seeding is keyed by it."""
    return f"978{index:010d}"


@transaction.atomic
def seed(
    books: int = 1000,
    *,
    reviews_per_book: int = 5,
    seed_value: int = 42,
    batch_size: int = 2000,
    progress: Progress = _noop,
) -> SeedResult:
    """Fill the bookstore up to ``books`` books; rows that exist already are left alone."""
    if books < 0 or reviews_per_book < 0:
        raise ValueError("books and reviews_per_book must be >= 0")
    rng = random.Random(seed_value)
    result = SeedResult()
    User = get_user_model()

    existing_tags = set(Tag.objects.values_list("name", flat=True))
    new_tags = [Tag(name=t, slug=slugify(t)) for t in TAGS if t not in existing_tags]
    Tag.objects.bulk_create(new_tags)
    result.tags = len(new_tags)

    n_publishers = 60
    existing_pubs = set(Publisher.objects.values_list("name", flat=True))
    new_pubs = [
        Publisher(
            name=f"{WORDS[i % len(WORDS)].title()} {('Press', 'Books', 'House')[i % 3]} {i}",
            country=COUNTRIES[i % len(COUNTRIES)],
            website=f"https://publisher{i}.example.com",
        )
        for i in range(n_publishers)
    ]
    new_pubs = [p for p in new_pubs if p.name not in existing_pubs]
    Publisher.objects.bulk_create(new_pubs)
    result.publishers = len(new_pubs)

    n_authors = max(10, books // 8)
    have_authors = Author.objects.count()
    new_authors = [
        Author(
            name=f"{FIRST[i % len(FIRST)]} {LAST[(i * 7) % len(LAST)]} {i}",
            country=COUNTRIES[i % len(COUNTRIES)],
            birth_year=1850 + (i * 37) % 150,
            bio=f"Author number {i}.",
        )
        for i in range(have_authors, n_authors)
    ]
    Author.objects.bulk_create(new_authors, batch_size=batch_size)
    result.authors = len(new_authors)

    n_users = max(20, books // 20)
    existing_users = set(
        User.objects.filter(username__startswith="reader").values_list("username", flat=True)
    )
    unusable = make_password(None)
    new_users = [
        User(username=f"reader{i}", email=f"reader{i}@example.com", password=unusable)
        for i in range(n_users)
        if f"reader{i}" not in existing_users
    ]
    if not User.objects.filter(username="demo").exists():
        new_users.append(User(username="demo", password=make_password("demo")))
    User.objects.bulk_create(new_users, batch_size=batch_size)
    result.users = len(new_users)

    author_ids = list(Author.objects.order_by("id").values_list("id", flat=True))
    publisher_ids = list(Publisher.objects.order_by("id").values_list("id", flat=True))
    tag_ids = list(Tag.objects.order_by("id").values_list("id", flat=True))
    user_ids = list(
        User.objects.filter(username__startswith="reader").values_list("id", flat=True)
    )
    have_isbns = set(Book.objects.values_list("isbn", flat=True))
    start = dt.date(1950, 1, 1)
    to_create = [i for i in range(books) if isbn_for(i) not in have_isbns]
    created = 0
    now = timezone.now()
    Through = Book.tags.through
    for chunk in _batches(to_create, batch_size):
        objs = [
            Book(
                title=f"The {WORDS[rng.randrange(len(WORDS))].title()} of "
                f"{WORDS[rng.randrange(len(WORDS))].title()} ({i})",
                isbn=isbn_for(i),
                author_id=author_ids[i % len(author_ids)],
                publisher_id=publisher_ids[rng.randrange(len(publisher_ids))],
                published=start + dt.timedelta(days=rng.randrange(365 * 74)),
                price=Decimal(rng.randrange(499, 6999)) / 100,
                pages=rng.randrange(80, 1200),
            )
            for i in chunk
        ]
        Book.objects.bulk_create(objs)
        if any(b.pk is None for b in objs):  # backends without RETURNING: look the ids up
            ids = dict(
                Book.objects.filter(isbn__in=[b.isbn for b in objs]).values_list("isbn", "id")
            )
            for b in objs:
                b.pk = ids[b.isbn]
        links = [
            Through(book_id=b.pk, tag_id=t)
            for b in objs
            for t in rng.sample(tag_ids, k=rng.randint(1, 4))
        ]
        Through.objects.bulk_create(links, batch_size=batch_size)
        reviews = [
            Review(
                book_id=b.pk,
                user_id=user_ids[rng.randrange(len(user_ids))],
                rating=rng.randint(1, 5),
                body=REVIEW_BODIES[rng.randrange(len(REVIEW_BODIES))],
                created=now - dt.timedelta(minutes=rng.randrange(60 * 24 * 3650)),
            )
            for b in objs
            for _ in range(reviews_per_book)
        ]
        Review.objects.bulk_create(reviews, batch_size=batch_size)
        created += len(objs)
        result.reviews += len(reviews)
        progress("books", created, len(to_create))
    result.books = created
    return result
