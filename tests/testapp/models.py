"""Models used only by perfkit's tests (besides the demo bookstore).

Inheritance and proxies, to prove that writes through them reach the right generations.
"""

from __future__ import annotations

import uuid

from django.db import models

from perfkit.cache import track_fields


class Feature(models.Model):
    name = models.CharField(max_length=50)

    def __str__(self) -> str:
        return self.name


class Place(models.Model):
    name = models.CharField(max_length=50)
    features = models.ManyToManyField(Feature, related_name="places", blank=True)

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


class Person(models.Model):
    name = models.CharField(max_length=50)

    def __str__(self) -> str:
        return self.name


class Club(models.Model):  # an explicit through model: writes to Membership change the relation
    name = models.CharField(max_length=50)
    members = models.ManyToManyField(Person, through="Membership", related_name="clubs")

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE)
    club = models.ForeignKey(Club, on_delete=models.CASCADE)
    role = models.CharField(max_length=20, default="member")

    def __str__(self) -> str:
        return f"{self.person_id} in {self.club_id}"


class Product(models.Model):
    name = models.CharField(max_length=50)

    def __str__(self) -> str:
        return self.name


class Opinion(models.Model):  # field-scoped dependencies: (Opinion, {"product": pk})
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="opinions")
    stars = models.PositiveSmallIntegerField(default=3)
    text = models.CharField(max_length=100, default="")
    visible = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.text


track_fields(Opinion, "product", "visible")
