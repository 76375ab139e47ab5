"""The QuerySet internals perfkit.internals.querysets reads."""

from __future__ import annotations

import pytest

from demo_project.bookstore.models import Author, Book, Tag
from perfkit.internals.querysets import instance_hint, known_related_fields

pytestmark = pytest.mark.django_db


def test_a_reverse_foreign_key_manager_knows_its_field():
    author = Author.objects.create(name="a")
    fields = known_related_fields(author.books.all())
    assert [field.name for field in fields] == ["author"]
    assert known_related_fields(Book.objects.all()) == []


def test_a_related_manager_hints_its_instance():
    tag = Tag(pk=1, name="t")
    assert instance_hint(tag.books.all()) is tag
    assert instance_hint(Tag.objects.all()) is None
