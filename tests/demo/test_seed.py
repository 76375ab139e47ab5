from __future__ import annotations

import pytest
from django.core.management import call_command

from demo_project.bookstore.models import Author, Book, Review, Tag
from demo_project.bookstore.seeding import seed

pytestmark = pytest.mark.django_db


def test_seed_creates_the_requested_data():
    result = seed(40, reviews_per_book=3)
    assert (result.books, result.reviews) == (40, 120)
    assert Book.objects.count() == 40
    assert Review.objects.count() == 120
    assert Author.objects.count() == 10
    assert Book.tags.through.objects.count() >= 40
    assert Tag.objects.count() == 30


def test_seed_is_idempotent_and_grows():
    seed(20)
    again = seed(20)
    assert (again.books, again.reviews, again.authors, again.users, again.tags) == (0, 0, 0, 0, 0)
    assert Book.objects.count() == 20
    more = seed(25)
    assert more.books == 5
    assert Book.objects.count() == 25
    assert Review.objects.count() == 125


def test_seed_command_reports(capsys):
    call_command("seed_demo", "--books", "12")
    call_command("seed_demo", "--books", "12")
    out = capsys.readouterr().out
    assert "Created 12 books, 60 reviews" in out
    assert "Already seeded: 12 books present, nothing to add." in out


def test_seed_command_rejects_negative_counts():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--books and --reviews-per-book must be zero or more"):
        call_command("seed_demo", "--books", "-1")
