"""Models used only by perfkit's tests (besides the demo bookstore).

Inheritance and proxies, to prove that writes through them reach the right generations.
"""

from __future__ import annotations

import uuid

from django.db import models


class Place(models.Model):
    name = models.CharField(max_length=50)

    def __str__(self) -> str:
        return self.name


class Restaurant(Place):  # multi-table inheritance: writes touch two tables
    serves_pizza = models.BooleanField(default=False)


class PlaceProxy(Place):
    class Meta:
        proxy = True


class Token(models.Model):  # a non-integer primary key
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    label = models.CharField(max_length=20)

    def __str__(self) -> str:
        return self.label
