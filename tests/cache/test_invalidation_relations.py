"""Invalidation across relations: inheritance, explicit through models, m2m, canonical pks.

Scenarios from django-cacheops' and django-cachalot's suites; each runs on local memory,
Redis and the database cache (and on PostgreSQL in the second pass of `make test`).
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection, transaction
from django.db.models.signals import m2m_changed
from django.test.utils import CaptureQueriesContext

from demo_project.bookstore.models import Book, Tag
from perfkit.cache import MISSING, cached, invalidate
from tests.cache.test_invalidation import make_books
from tests.testapp.models import Club, Membership, Person, Place, PlaceProxy, Restaurant, Token

pytestmark = pytest.mark.django_db  # sets the test databases up even when run alone


@pytest.fixture(params=["locmem", "redis", "db"])
def alias(request):
    """The suite's cache aliases: "default" (local memory), "redis", "db" (DatabaseCache)."""
    request.getfixturevalue("db")
    if request.param == "redis":
        request.getfixturevalue("redis_cache")
        return "redis"
    if request.param == "db":
        request.getfixturevalue("db_cache")
        return "db"
    return "default"


def warm(*calls):
    for func, *args in calls:
        func(*args)
        assert func.peek(*args) is not MISSING, func


# -- multi-table inheritance ---------------------------------------------------------------


@pytest.fixture
def places(alias):
    place = Place.objects.create(name="p")
    restaurant = Restaurant.objects.create(name="r")
    other = Restaurant.objects.create(name="o")

    @cached(timeout=60, cache=alias, depends_on=lambda pk: [(Restaurant, pk)])
    def restaurant_row(pk):
        return Restaurant.objects.filter(pk=pk).values_list("name", "serves_pizza").first()

    @cached(timeout=60, cache=alias, depends_on=[Restaurant])
    def restaurants():
        return sorted(Restaurant.objects.values_list("name", flat=True))

    @cached(timeout=60, cache=alias, depends_on=lambda pk: [(Place, pk)])
    def place_row(pk):
        return Place.objects.filter(pk=pk).values_list("name", flat=True).first()

    @cached(timeout=60, cache=alias, depends_on=lambda pk: [(PlaceProxy, pk)])
    def proxy_row(pk):
        return PlaceProxy.objects.filter(pk=pk).values_list("name", flat=True).first()

    warm((restaurant_row, restaurant.pk), (restaurant_row, other.pk), (restaurants,))
    warm((place_row, restaurant.pk), (place_row, place.pk), (proxy_row, restaurant.pk))
    return place, restaurant, other, restaurant_row, restaurants, place_row, proxy_row


PARENT_WRITES = {
    "parent_save": lambda r: (setattr(p := Place.objects.get(pk=r.pk), "name", "x"), p.save()),
    "parent_pk_update": lambda r: Place.objects.filter(pk=r.pk).update(name="x"),
    "parent_filtered_update": lambda r: Place.objects.filter(name="r").update(name="x"),
    "proxy_update": lambda r: PlaceProxy.objects.filter(pk=r.pk).update(name="x"),
    "parent_bulk_update": lambda r: Place.objects.bulk_update(
        [Place(pk=r.pk, name="x")], ["name"]
    ),
}


@pytest.mark.parametrize("write", sorted(PARENT_WRITES))
def test_a_write_through_the_parent_invalidates_the_child(places, write):
    _, restaurant, other, restaurant_row, restaurants, _, _ = places
    PARENT_WRITES[write](restaurant)
    assert restaurant_row(restaurant.pk) == ("x", False)
    assert restaurants() == ["o", "x"]
    if write != "parent_filtered_update":  # rows known: the other restaurant stays cached
        assert restaurant_row.peek(other.pk) == ("o", False)


@pytest.mark.parametrize("write", ["child_field_update", "child_filtered_update"])
def test_a_write_through_the_child_invalidates_the_parent_and_proxies(places, write):
    _, restaurant, _, _, _, place_row, proxy_row = places
    if write == "child_field_update":
        Restaurant.objects.filter(pk=restaurant.pk).update(serves_pizza=True)
    else:
        Restaurant.objects.filter(serves_pizza=False).update(serves_pizza=True)
    assert place_row.peek(restaurant.pk) is MISSING
    assert proxy_row.peek(restaurant.pk) is MISSING


# -- explicit through models ---------------------------------------------------------------


@pytest.fixture
def clubs(alias):
    ann, bob = Person.objects.create(name="ann"), Person.objects.create(name="bob")
    chess, golf = Club.objects.create(name="chess"), Club.objects.create(name="golf")
    Membership.objects.create(person=ann, club=chess)
    Membership.objects.create(person=bob, club=golf)

    @cached(timeout=60, cache=alias, depends_on=lambda pk: [(Club, pk)])
    def members(pk):
        return sorted(Club.objects.get(pk=pk).members.values_list("name", flat=True))

    @cached(timeout=60, cache=alias, depends_on=lambda pk: [(Person, pk)])
    def club_names(pk):
        return sorted(Person.objects.get(pk=pk).clubs.values_list("name", flat=True))

    @cached(timeout=60, cache=alias, depends_on=[Club])
    def all_members():
        return sorted(
            Club.objects.filter(members__isnull=False).values_list("members__name", flat=True)
        )

    warm((members, chess.pk), (members, golf.pk), (club_names, ann.pk), (club_names, bob.pk))
    warm((all_members,))
    return ann, bob, chess, golf, members, club_names, all_members


THROUGH_WRITES = {
    "create": lambda ann, bob, chess: Membership.objects.create(person=bob, club=chess),
    "bulk_create": lambda ann, bob, chess: Membership.objects.bulk_create(
        [Membership(person=bob, club=chess)]
    ),
    "instance_delete": lambda ann, bob, chess: Membership.objects.get(club=chess).delete(),
    "queryset_delete": lambda ann, bob, chess: Membership.objects.filter(club=chess).delete(),
    "pk_delete": lambda ann, bob, chess: Membership.objects.filter(
        pk=Membership.objects.get(club=chess).pk
    ).delete(),
    "save_moves_person": lambda ann, bob, chess: (
        setattr(m := Membership.objects.get(club=chess), "person", bob),
        m.save(),
    ),
    "update_role": lambda ann, bob, chess: Membership.objects.filter(club=chess).update(
        role="captain"
    ),
    "manager_add": lambda ann, bob, chess: chess.members.add(bob),
    "manager_remove": lambda ann, bob, chess: chess.members.remove(ann),
}


@pytest.mark.parametrize("write", sorted(THROUGH_WRITES))
def test_writes_to_an_explicit_through_model_invalidate_the_relation(clubs, write):
    ann, bob, chess, golf, members, club_names, all_members = clubs
    before = members(chess.pk), all_members()
    THROUGH_WRITES[write](ann, bob, chess)
    assert members.peek(chess.pk) is MISSING
    assert all_members.peek() is MISSING
    changed = (members(chess.pk), all_members()) != before
    assert changed or write == "update_role"
    assert members.peek(golf.pk) == ["bob"]  # another club: untouched
    if write not in {"create", "bulk_create", "manager_add", "save_moves_person"}:
        assert club_names.peek(ann.pk) is MISSING
    if write in {"create", "bulk_create", "manager_add", "save_moves_person"}:
        assert club_names.peek(bob.pk) is MISSING


# -- auto-created through tables: a raising receiver, clear() precision --------------------


@pytest.fixture
def tagged(alias):
    _, _, books = make_books(3)
    red, blue = (
        Tag.objects.create(name="red", slug="red"),
        Tag.objects.create(name="blue", slug="b"),
    )
    books[0].tags.add(red)
    books[1].tags.add(blue)

    @cached(timeout=60, cache=alias, depends_on=lambda pk: [(Book, pk)])
    def book_tags(pk):
        return sorted(Book.objects.get(pk=pk).tags.values_list("name", flat=True))

    @cached(timeout=60, cache=alias, depends_on=lambda pk: [(Tag, pk)])
    def tag_books(pk):
        return sorted(Tag.objects.get(pk=pk).books.values_list("title", flat=True))

    warm((book_tags, books[0].pk), (book_tags, books[1].pk), (book_tags, books[2].pk))
    warm((tag_books, red.pk), (tag_books, blue.pk))
    return books, red, blue, book_tags, tag_books


def test_a_raising_pre_add_receiver_does_not_stop_later_invalidation(tagged):
    books, red, blue, book_tags, tag_books = tagged

    def refuse(action, **kwargs):
        if action == "pre_add":
            raise RuntimeError("refused")

    m2m_changed.connect(refuse, sender=Book.tags.through)
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            books[2].tags.add(red)
    finally:
        m2m_changed.disconnect(refuse, sender=Book.tags.through)
    # the same thread writes the through table directly, and deletes a book (a cascade)
    Book.tags.through.objects.create(book=books[2], tag=blue)
    assert book_tags(books[2].pk) == ["blue"]
    assert tag_books(blue.pk) == ["B1", "B2"]
    books[0].delete()
    assert tag_books(red.pk) == []


@pytest.mark.parametrize("side", ["forward", "reverse"])
def test_clear_bumps_only_the_rows_it_unlinked(tagged, side):
    books, red, blue, book_tags, tag_books = tagged
    with CaptureQueriesContext(connection) as queries:
        if side == "forward":
            books[0].tags.clear()
        else:
            red.books.clear()
    assert book_tags(books[0].pk) == []
    assert tag_books(red.pk) == []
    assert book_tags.peek(books[1].pk) == ["blue"]  # linked to nothing cleared: still cached
    assert book_tags.peek(books[2].pk) == []
    assert tag_books.peek(blue.pk) == ["B1"]
    # the cost: one SELECT of the rows to unlink (at most 101), besides Django's DELETE
    through = [q["sql"] for q in queries if "bookstore_book_tags" in q["sql"]]
    assert len(through) == 2, through
    assert through[0].startswith("SELECT")
    assert through[1].startswith("DELETE")


@pytest.mark.parametrize("side", ["forward", "reverse"])
def test_remove_and_set_from_either_side_keep_other_rows(tagged, side):
    books, red, blue, book_tags, tag_books = tagged
    if side == "forward":
        books[0].tags.set([blue])
    else:
        red.books.remove(books[0])
    assert tag_books.peek(red.pk) is MISSING
    assert book_tags.peek(books[0].pk) is MISSING
    assert book_tags.peek(books[1].pk) == ["blue"]
    if side == "reverse":
        assert tag_books.peek(blue.pk) == ["B1"]


# -- canonical primary keys ----------------------------------------------------------------


PK_FORMS = {
    "uuid_hex_upper": lambda t: t.pk.hex.upper(),
    "uuid_str": lambda t: str(t.pk),
    "uuid": lambda t: t.pk,
    "instance": lambda t: t,
}


@pytest.mark.parametrize("read_form", sorted(PK_FORMS))
@pytest.mark.parametrize("write_form", ["uuid_hex_upper", "uuid"])
def test_uuid_pks_name_one_row_in_every_form(alias, read_form, write_form):
    token = Token.objects.create(label="t")
    form = PK_FORMS[read_form]

    @cached(timeout=60, cache=alias, depends_on=lambda pk: [(Token, form(pk))])
    def label(pk):
        return Token.objects.get(pk=pk.pk).label

    warm((label, token))
    Token.objects.filter(pk=PK_FORMS[write_form](token)).update(label="u")
    assert label.peek(token) is MISSING
    assert label(token) == "u"


def test_pks_given_in_another_form_to_invalidate(alias):
    place = Place.objects.create(name="p")

    @cached(timeout=60, cache=alias, depends_on=lambda pk: [(Place, str(pk))])
    def name(pk):
        return Place.objects.get(pk=pk).name

    warm((name, place.pk))
    place.name = "q"
    place.save()
    assert name(place.pk) == "q"
    warm((name, place.pk))
    invalidate((Place, str(place.pk)))
    assert name.peek(place.pk) is MISSING
    token = Token.objects.create(label="t")

    @cached(timeout=60, cache=alias, depends_on=lambda pk: [(Token, pk)])
    def label(pk):
        return Token.objects.get(pk=pk).label

    warm((label, token.pk))
    invalidate((Token, uuid.UUID(str(token.pk)).hex.upper()))  # another spelling, one row
    assert label.peek(token.pk) is MISSING


@pytest.mark.parametrize("action", ["add", "remove", "reverse_remove"])
def test_m2m_declared_on_the_parent_and_written_through_the_child(alias, action):
    from tests.testapp.models import Feature

    restaurant, other = Restaurant.objects.create(name="r"), Restaurant.objects.create(name="o")
    wifi = Feature.objects.create(name="wifi")
    restaurant.features.add(wifi)
    other.features.add(wifi)

    @cached(timeout=60, cache=alias, depends_on=lambda pk: [(Restaurant, pk)])
    def features(pk):
        return sorted(Restaurant.objects.get(pk=pk).features.values_list("name", flat=True))

    warm((features, restaurant.pk), (features, other.pk))
    {
        "add": lambda: restaurant.features.add(Feature.objects.create(name="bar")),
        "remove": lambda: restaurant.features.remove(wifi),
        "reverse_remove": lambda: wifi.places.remove(restaurant),
    }[action]()
    assert features.peek(restaurant.pk) is MISSING
    assert features.peek(other.pk) == ["wifi"]
