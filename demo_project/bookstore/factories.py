"""factory-boy factories for every bookstore model (tests and ad-hoc data)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from demo_project.bookstore.models import Author, Book, Publisher, Review, Tag


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("password")


class AuthorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Author

    name = factory.Faker("name")
    country = factory.Faker("country")
    birth_year = factory.Faker("pyint", min_value=1850, max_value=2000)
    bio = factory.Faker("paragraph")


class PublisherFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Publisher
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Publisher {n}")
    country = factory.Faker("country")
    website = factory.Faker("url")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tag-{n}")
    slug = factory.LazyAttribute(lambda t: t.name)


class BookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Book
        skip_postgeneration_save = True

    title = factory.Faker("sentence", nb_words=4)
    isbn = factory.Sequence(lambda n: f"979{n:010d}")
    author = factory.SubFactory(AuthorFactory)
    publisher = factory.SubFactory(PublisherFactory)
    published = factory.Faker("date_between", start_date=dt.date(1950, 1, 1), end_date="today")
    price = factory.LazyFunction(lambda: Decimal("19.99"))
    pages = factory.Faker("pyint", min_value=80, max_value=1200)

    @factory.post_generation
    def tags(self, create: bool, extracted: list[Tag] | None, **kwargs: object) -> None:
        if create and extracted:
            self.tags.add(*extracted)


class ReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Review

    book = factory.SubFactory(BookFactory)
    user = factory.SubFactory(UserFactory)
    rating = factory.Faker("pyint", min_value=1, max_value=5)
    body = factory.Faker("sentence")
    created = factory.LazyFunction(timezone.now)
