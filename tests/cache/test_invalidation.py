from __future__ import annotations

import datetime
import decimal

import pytest
from django.db import transaction
from django.db.models import F

from demo_project.bookstore.models import Author, Book, Publisher, Review, Tag
from perfkit.cache import MISSING, cached, invalidate

pytestmark = pytest.mark.django_db  # sets the test databases up even when run alone (-k)


def make_books(n=3):
    author = Author.objects.create(name="Ann")
    publisher = Publisher.objects.create(name="Pub")
    books = [
        Book.objects.create(
            title=f"B{i}",
            isbn=f"isbn{i}",
            author=author,
            publisher=publisher,
            published=datetime.date(2020, 1, 1),
            price=decimal.Decimal("9.99"),
            pages=100,
        )
        for i in range(n)
    ]
    return author, publisher, books


@pytest.fixture
def cached_fns(alias):
    _author, _publisher, books = make_books()

    @cached(timeout=60, cache=alias, depends_on=[Book])
    def titles():
        return sorted(Book.objects.values_list("title", flat=True))

    @cached(timeout=60, cache=alias, depends_on=lambda book_id: [(Book, book_id)])
    def title(book_id):
        return Book.objects.filter(pk=book_id).values_list("title", flat=True).first()

    @cached(timeout=60, cache=alias, depends_on=[Book, Tag])
    def tag_names(book_id):
        return sorted(Book.objects.get(pk=book_id).tags.values_list("name", flat=True))

    return titles, title, tag_names, books


def warm(*calls):
    for func, args in calls:
        func(*args)
        assert func.peek(*args) is not MISSING


WRITES = {
    "save": lambda b: (setattr(b[0], "title", "X"), b[0].save()),
    "delete": lambda b: b[0].delete(),
    "create": lambda b: Book.objects.create(
        title="New",
        isbn="isbnN",
        author=b[0].author,
        publisher=b[0].publisher,
        published=datetime.date(2020, 1, 1),
        price=1,
        pages=1,
    ),
    "queryset_update": lambda b: Book.objects.filter(title="B0").update(title="Y"),
    "queryset_delete": lambda b: Book.objects.filter(title="B0").delete(),
    "bulk_create": lambda b: Book.objects.bulk_create(
        [
            Book(
                title="Bulk",
                isbn="isbnB",
                author=b[0].author,
                publisher=b[0].publisher,
                published=datetime.date(2020, 1, 1),
                price=1,
                pages=1,
            )
        ]
    ),
    "bulk_update": lambda b: Book.objects.bulk_update(
        [setattr(b[0], "title", "Z") or b[0]], ["title"]
    ),
    "update_or_create": lambda b: Book.objects.update_or_create(
        pk=b[0].pk, defaults={"title": "U"}
    ),
    "get_or_create": lambda b: Book.objects.get_or_create(
        title="G",
        defaults={
            "isbn": "isbnG",
            "author": b[0].author,
            "publisher": b[0].publisher,
            "published": datetime.date(2020, 1, 1),
            "price": 1,
            "pages": 1,
        },
    ),
    "cascade": lambda b: b[0].author.delete(),
}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_every_orm_write_invalidates(cached_fns, write):
    titles, title, _, books = cached_fns
    warm((titles, ()), (title, (books[0].pk,)))
    WRITES[write](books)
    assert titles.peek() is MISSING
    assert titles() == sorted(Book.objects.values_list("title", flat=True))
    if write not in {"create", "bulk_create", "get_or_create"}:
        assert title.peek(books[0].pk) is MISSING


@pytest.mark.parametrize("write", ["save", "delete", "bulk_update", "update_or_create"])
def test_row_dependency_survives_writes_to_other_rows(cached_fns, write):
    _, title, _, books = cached_fns
    warm((title, (books[1].pk,)), (title, (books[0].pk,)))
    WRITES[write](books)
    assert title.peek(books[1].pk) == "B1"
    assert title.peek(books[0].pk) is MISSING


def test_filtered_update_invalidates_every_row_dependency(cached_fns):
    _, title, _, books = cached_fns
    warm((title, (books[1].pk,)))
    Book.objects.filter(pages__gt=0).update(pages=5)
    assert title.peek(books[1].pk) is MISSING


@pytest.mark.parametrize("side", ["forward", "reverse"])
@pytest.mark.parametrize("action", ["add", "remove", "clear", "set"])
def test_m2m_changes_invalidate_both_sides(cached_fns, side, action):
    _, _, tag_names, books = cached_fns
    tag = Tag.objects.create(name="t", slug="t")
    books[0].tags.add(tag)

    @cached(timeout=60, cache=tag_names.cache_alias, depends_on=lambda book_id: [(Book, book_id)])
    def row(book_id):
        return list(Book.objects.get(pk=book_id).tags.values_list("pk", flat=True))

    @cached(timeout=60, cache=tag_names.cache_alias, depends_on=lambda tag_id: [(Tag, tag_id)])
    def tag_books(tag_id):
        return list(Tag.objects.get(pk=tag_id).books.values_list("pk", flat=True))

    warm((tag_names, (books[0].pk,)), (row, (books[0].pk,)), (row, (books[2].pk,)))
    warm((tag_books, (tag.pk,)))
    manager = books[0].tags if side == "forward" else tag.books
    other = tag if side == "forward" else books[0]
    {
        "add": lambda: (
            manager.add(Tag.objects.create(name="u", slug="u"))
            if side == "forward"
            else manager.add(books[1])
        ),
        "remove": lambda: manager.remove(other),
        "clear": manager.clear,
        "set": lambda: manager.set([]),
    }[action]()
    assert tag_names.peek(books[0].pk) is MISSING
    if side == "forward" or action != "add":
        assert row.peek(books[0].pk) is MISSING
    if side == "reverse" or action != "add":
        assert tag_books.peek(tag.pk) is MISSING
    else:  # a new tag was added to the book: tag t's books did not change
        assert tag_books.peek(tag.pk) == [books[0].pk]
    assert row.peek(books[2].pk) == []  # another row, untouched (clear() too)


def test_instance_and_model_dependencies(db):
    author, _, _books = make_books(2)

    @cached(timeout=60, depends_on=[author])
    def name():
        return Author.objects.get(pk=author.pk).name

    @cached(timeout=60, depends_on=["bookstore.Review"])
    def review_count():
        return Review.objects.count()

    warm((name, ()), (review_count, ()))
    Author.objects.create(name="Other")
    assert name.peek() == "Ann"
    author.name = "Bea"
    author.save()
    assert name() == "Bea"
    invalidate(Review)
    assert review_count.peek() is MISSING


def test_invalidate_targets(db):
    _author, _, books = make_books(2)

    @cached(timeout=60, depends_on=lambda pk: [(Book, pk)])
    def title(pk):
        return Book.objects.get(pk=pk).title

    warm((title, (books[0].pk,)), (title, (books[1].pk,)))
    invalidate((Book, books[0].pk))
    assert title.peek(books[0].pk) is MISSING
    assert title.peek(books[1].pk) == "B1"
    invalidate(books[1])
    assert title.peek(books[1].pk) is MISSING
    warm((title, (books[0].pk,)))
    invalidate("bookstore.Book")
    assert title.peek(books[0].pk) is MISSING


def test_untracked_raw_sql_and_invalidate_fixes_it(db, settings):
    from django.db import connection

    _, _, _books = make_books(1)
    settings.PERFKIT = {"KEY_PREFIX": "pkt", "TRACK_RAW_SQL": False}

    @cached(timeout=60, depends_on=[Book])
    def titles():
        return list(Book.objects.values_list("title", flat=True))

    warm((titles, ()))
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Book._meta.db_table} SET title = 'raw'")
    assert titles() == ["B0"]  # TRACK_RAW_SQL off: raw SQL is not seen
    invalidate(Book)
    assert titles() == ["raw"]


def test_invalidate_rejects_unknown_targets(db):
    from perfkit.exceptions import ImproperlyConfiguredError

    with pytest.raises(ImproperlyConfiguredError) as info:
        invalidate(3.5)
    assert str(info.value) == (
        "invalidate(): 3.5 is not a dependency perfkit understands; use a model class, a model "
        "instance, a (Model, pk) pair or 'app_label.ModelName'."
    )


def test_invalidated_signal_names_targets_and_keys(db, signal_log):
    _, _, books = make_books(1)
    signal_log.clear()
    books[0].save()
    sent = [kw for name, kw in signal_log if name == "cache_invalidated"]
    assert sent[0]["targets"] == [f"bookstore.book:{books[0].pk}"]
    assert sent[0]["keys"] == ["pkt:g:bookstore.book", f"pkt:g:bookstore.book:{books[0].pk}"]
    assert sent[0]["sender"] is None


@pytest.mark.django_db(transaction=True)
def test_rollback_leaves_nothing_stale():
    _, _, books = make_books(1)
    seen = []

    @cached(timeout=60, depends_on=[Book])
    def titles():
        seen.append(1)
        return list(Book.objects.values_list("title", flat=True))

    titles()
    inside = []

    def write_then_fail():
        with transaction.atomic():
            Book.objects.filter(pk=books[0].pk).update(title="in-tx")
            # the block's own view is computed but not stored: it may be rolled back
            inside.extend([titles(), titles.peek()])
            raise RuntimeError("rollback")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert inside == [["in-tx"], MISSING]
    assert titles() == ["B0"]
    assert titles.peek() == ["B0"]


@pytest.mark.django_db(transaction=True)
def test_commit_invalidates_and_unrelated_calls_still_store():
    _, _, books = make_books(2)

    @cached(timeout=60, depends_on=lambda pk: [(Book, pk)])
    def title(pk):
        return Book.objects.get(pk=pk).title

    with transaction.atomic():
        Book.objects.filter(pk=books[0].pk).update(title="new")
        assert title(books[1].pk) == "B1"
        assert title.peek(books[1].pk) == "B1"  # another row: stored
        assert title(books[0].pk) == "new"
        assert title.peek(books[0].pk) is MISSING
    assert title(books[0].pk) == "new"
    assert title.peek(books[0].pk) == "new"


def test_testcase_atomic_blocks_count_as_committed(db):
    _, _, books = make_books(1)

    @cached(timeout=60, depends_on=[Book])
    def titles():
        return list(Book.objects.values_list("title", flat=True))

    books[0].save()
    titles()
    assert titles.peek() == ["B0"]


def test_invalidation_setting_off(db, settings):
    _, _, books = make_books(1)
    settings.PERFKIT = {"KEY_PREFIX": "pkt", "INVALIDATION": False}

    @cached(timeout=60, depends_on=[Book])
    def titles():
        return list(Book.objects.values_list("title", flat=True))

    warm((titles, ()))
    books[0].save()
    assert titles.peek() == ["B0"]


def test_inheritance_proxies_and_uuid_pks(db):
    from tests.testapp.models import Place, PlaceProxy, Restaurant, Token

    place = Place.objects.create(name="p")
    restaurant = Restaurant.objects.create(name="r")
    token = Token.objects.create(label="t")

    @cached(timeout=60, depends_on=lambda pk: [(Place, pk)])
    def place_name(pk):
        return Place.objects.get(pk=pk).name

    @cached(timeout=60, depends_on=[Restaurant])
    def pizza():
        return list(Restaurant.objects.values_list("serves_pizza", flat=True))

    @cached(timeout=60, depends_on=lambda pk: [(Token, pk)])
    def label(pk):
        return Token.objects.get(pk=pk).label

    warm((place_name, (place.pk,)), (place_name, (restaurant.pk,)), (pizza, ()))
    warm((label, (token.pk,)))
    PlaceProxy.objects.filter(pk=place.pk).update(name="q")  # a proxy writes its concrete table
    assert place_name.peek(place.pk) is MISSING
    assert place_name.peek(restaurant.pk) == "r"
    restaurant.name = "s"  # saving a child updates the parent table too
    restaurant.save()
    assert place_name.peek(restaurant.pk) is MISSING
    assert pizza.peek() is MISSING
    token.label = "u"
    token.save()
    assert label(token.pk) == "u"


def test_large_batches_bump_the_star_generation(db):
    author, publisher, books = make_books(2)

    @cached(timeout=60, depends_on=lambda pk: [(Book, pk)])
    def title(pk):
        return Book.objects.get(pk=pk).title

    warm((title, (books[1].pk,)))
    more = [
        Book(
            title=f"M{i}",
            isbn=f"m{i}",
            author=author,
            publisher=publisher,
            published=datetime.date(2020, 1, 1),
            price=1,
            pages=1,
        )
        for i in range(150)
    ]
    Book.objects.bulk_create(more)  # more than 100 rows: one "*" bump, not 150 row bumps
    assert title.peek(books[1].pk) is MISSING


@pytest.mark.django_db(transaction=True)
def test_many_writes_in_one_transaction_bump_once_at_commit():
    from django.db import connection

    _, _, books = make_books(1)
    with transaction.atomic():
        for n in range(50):
            books[0].pages = n
            books[0].save()
        assert len(connection.run_on_commit) == 1
        with transaction.atomic():  # a savepoint: its own callback, dropped by its rollback
            books[0].save()
            assert len(connection.run_on_commit) == 2
            transaction.set_rollback(True)
        books[0].save()
        assert len(connection.run_on_commit) == 1


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_does_not_swallow_the_next_commit_bump():
    from django.db import connection

    _, _, books = make_books(1)
    with transaction.atomic():
        books[0].save()
        transaction.set_rollback(True)
    with transaction.atomic():
        books[0].save()
        assert len(connection.run_on_commit) == 1


@pytest.mark.redis
def test_invalidation_reaches_other_processes(db, redis_cache):
    import subprocess
    import sys

    from django.conf import settings

    @cached(timeout=60, cache="redis", depends_on=[Book])
    def count():
        return Book.objects.count()

    warm((count, ()))
    code = "\n".join(
        [
            "import os, django",
            "os.environ['DJANGO_SETTINGS_MODULE'] = 'tests.settings'",
            "django.setup()",
            "from django.conf import settings",
            "from django.test import override_settings",
            "from perfkit.cache import invalidate",
            f"redis = {{**settings.CACHES['redis'], 'KEY_PREFIX': {settings.TEST_KEY_PREFIX!r}}}",
            "caches = {**settings.CACHES, 'redis': redis}",
            "perfkit = {'KEY_PREFIX': 'pkt', 'CACHE_ALIAS': 'redis'}",
            "with override_settings(CACHES=caches, PERFKIT=perfkit):",
            "    invalidate('bookstore.Book')",
        ]
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert count.peek() is MISSING


@pytest.mark.django_db(transaction=True)
def test_invalidate_inside_a_transaction_bumps_again_at_commit():
    from django.db import connection

    with transaction.atomic():
        invalidate(Book)
        assert len(connection.run_on_commit) == 1


def test_a_failing_hook_never_breaks_the_write_and_is_logged_and_counted(db, monkeypatch, caplog):
    from perfkit.cache import generations, invalidation
    from tests.testapp.models import Opinion, Product

    def boom(*args, **kwargs):
        raise RuntimeError("cache exploded")

    product = Product.objects.create(name="p")
    opinion = Opinion.objects.create(product=product)
    before = dict(invalidation.failures)
    monkeypatch.setattr(generations, "bump", boom)
    Book.objects.none().update(title="x")
    opinion.text = "changed"
    opinion.save()  # a tracked model: prepare() runs too
    monkeypatch.setattr(invalidation.relations, "read_before", boom)
    opinion.save()
    assert Opinion.objects.get(pk=opinion.pk).text == "changed"
    assert invalidation.failures["written"] == before.get("written", 0) + 3
    assert invalidation.failures["prepare"] == before.get("prepare", 0) + 1
    messages = [r.getMessage() for r in caplog.records if r.name == "perfkit.cache"]
    assert any("before the update failed" in m for m in messages)
    assert any("invalidation after a write to" in m for m in messages)


PEER_WRITES = {
    # django-cacheops / django-cachalot write paths not covered above
    "delete_with_join": lambda b: Book.objects.filter(author__name="Ann", title="B0").delete(),
    "update_with_join": lambda b: Book.objects.filter(author__name="Ann").update(pages=7),
    "f_expression_update": lambda b: Book.objects.filter(pk=b[0].pk).update(pages=F("pages") + 1),
    "f_expression_save": lambda b: (setattr(b[0], "pages", F("pages") + 1), b[0].save()),
    "select_for_update_save": lambda b: _select_for_update_save(b[0].pk),
    "loaddata": lambda b: _loaddata(b[0]),
    "upsert": lambda b: Book.objects.bulk_create(
        [
            Book(
                title="UP",
                isbn=b[0].isbn,
                author=b[0].author,
                publisher=b[0].publisher,
                published=datetime.date(2020, 1, 1),
                price=1,
                pages=1,
            )
        ],
        update_conflicts=True,
        unique_fields=["isbn"],
        update_fields=["title"],
    ),
    "save_update_fields": lambda b: (
        setattr(b[0], "title", "Q"),
        b[0].save(update_fields=["title"]),
    ),
}


def _select_for_update_save(pk):
    with transaction.atomic():
        book = Book.objects.select_for_update().get(pk=pk)
        book.title = "S"
        book.save()


def _loaddata(book):
    from django.core import serializers

    book.title = "L"
    for obj in serializers.deserialize("json", serializers.serialize("json", [book])):
        obj.save()


@pytest.mark.parametrize("write", sorted(PEER_WRITES))
def test_peer_write_paths_invalidate(cached_fns, write):
    titles, title, _, books = cached_fns
    warm((titles, ()), (title, (books[0].pk,)))
    PEER_WRITES[write](books)
    assert titles.peek() is MISSING
    assert title.peek(books[0].pk) is MISSING
