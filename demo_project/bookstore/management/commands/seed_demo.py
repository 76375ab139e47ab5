"""``python manage.py seed_demo --books N``: fill the demo bookstore quickly and idempotently."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo_project.bookstore import seeding
from perfkit.progress import ProgressLine, bar


class Command(BaseCommand):
    help = "Fill the demo bookstore with realistic data (bulk inserts; re-running adds nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--books", type=int, default=2000, help="books to have (default 2000)")
        parser.add_argument(
            "--reviews-per-book", type=int, default=5, help="reviews per new book (default 5)"
        )
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")

    def handle(
        self, *args: Any, books: int, reviews_per_book: int, seed: int, **opts: Any
    ) -> None:
        if books < 0 or reviews_per_book < 0:
            raise CommandError("--books and --reviews-per-book must be zero or more")
        line = ProgressLine(self.stdout, interval=(0.1, 2.0))

        def progress(stage: str, done: int, total: int) -> None:
            line.show(f"{stage:>6} {bar(done, total)} {done}/{total}", done, total)

        started = time.perf_counter()
        result = seeding.seed(
            books, reviews_per_book=reviews_per_book, seed_value=seed, progress=progress
        )
        elapsed = time.perf_counter() - started
        if result.books == 0:
            self.stdout.write(f"Already seeded: {books} books present, nothing to add.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {result.books} books, {result.reviews} reviews, {result.authors} "
                f"authors, {result.publishers} publishers, {result.tags} tags, "
                f"{result.users} users in {elapsed:.1f}s."
            )
        )
