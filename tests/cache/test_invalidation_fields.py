"""Field-scoped dependencies: ``(Opinion, {"product": pk})`` is invalidated by writes to the
opinions of that product only (tests.testapp.models tracks ``Opinion.product``)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from perfkit.cache import MISSING, cached, track_fields
from perfkit.exceptions import ImproperlyConfiguredError
from tests.testapp.models import Opinion, Place, Product

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["locmem", "redis", "db"])
def alias(request):
    if request.param == "redis":
        request.getfixturevalue("redis_cache")
        return "redis"
    if request.param == "db":
        request.getfixturevalue("db_cache")
        return "db"
    return "default"


@pytest.fixture
def pages(alias):
    five, six = Product.objects.create(name="five"), Product.objects.create(name="six")
    Opinion.objects.create(product=five, text="a")
    Opinion.objects.create(product=six, text="b")

    @cached(timeout=60, cache=alias, depends_on=lambda pk: [(Opinion, {"product": pk})])
    def opinions(pk):
        return sorted(Opinion.objects.filter(product=pk).values_list("text", flat=True))

    for product in (five, six):
        opinions(product.pk)
        assert opinions.peek(product.pk) is not MISSING
    return five, six, opinions


def opinion_of(product):
    return Opinion.objects.get(product=product)


WRITES = {
    "create": lambda five, six: Opinion.objects.create(product=five, text="c"),
    "bulk_create": lambda five, six: Opinion.objects.bulk_create(
        [Opinion(product=five, text="c")]
    ),
    "save": lambda five, six: (setattr(o := opinion_of(five), "text", "c"), o.save()),
    "delete": lambda five, six: opinion_of(five).delete(),
    "pk_update": lambda five, six: Opinion.objects.filter(pk=opinion_of(five).pk).update(text="c"),
    "filtered_update": lambda five, six: Opinion.objects.filter(text="a").update(text="c"),
    "f_update": lambda five, six: Opinion.objects.filter(text="a").update(stars=F("stars") + 1),
    "bulk_update": lambda five, six: Opinion.objects.bulk_update(
        [setattr(o := opinion_of(five), "text", "c") or o], ["text"]
    ),
    "update_or_create": lambda five, six: Opinion.objects.update_or_create(
        text="a", defaults={"text": "c"}
    ),
    "cascade": lambda five, six: five.delete(),
}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_write_invalidates_its_product_only(pages, write):
    five, six, opinions = pages
    WRITES[write](five, six)
    assert opinions.peek(five.pk) is MISSING
    assert opinions.peek(six.pk) == ["b"]


def test_moving_a_row_invalidates_the_old_and_the_new_value(pages):
    five, six, opinions = pages
    seven = Product.objects.create(name="seven")
    opinions(seven.pk)
    opinion = opinion_of(five)
    opinion.product = six
    opinion.save()
    assert opinions.peek(five.pk) is MISSING
    assert opinions.peek(six.pk) is MISSING
    assert opinions.peek(seven.pk) == []
    assert opinions(six.pk) == ["a", "b"]


def test_a_write_whose_rows_are_unknown_invalidates_every_value(pages):
    five, six, opinions = pages
    Opinion.objects.bulk_create([Opinion(product=six, text=f"x{i}") for i in range(120)])
    opinions(six.pk)
    Opinion.objects.filter(text__startswith="x").update(stars=1)  # over 100 rows
    assert opinions.peek(five.pk) is MISSING
    assert opinions.peek(six.pk) is MISSING


def test_a_tracked_model_reads_the_old_values_in_one_select(pages):
    five, _, _ = pages
    opinion = opinion_of(five)
    opinion.text = "c"
    with CaptureQueriesContext(connection) as queries:
        opinion.save()
    own = [q["sql"].split()[0] for q in queries if "testapp_opinion" in q["sql"]]
    assert own == ["SELECT", "UPDATE"]
    with CaptureQueriesContext(connection) as queries:
        Place.objects.create(name="untracked").save()
    assert [q["sql"].split()[0] for q in queries if "testapp_place" in q["sql"]] == [
        "INSERT",
        "UPDATE",
    ]


def test_an_untracked_field_is_an_error_naming_the_fix(alias):
    @cached(timeout=60, cache=alias, depends_on=lambda pk: [(Opinion, {"stars": pk})])
    def by_stars(stars):
        return stars

    with pytest.raises(ImproperlyConfiguredError) as info:
        by_stars(3)
    assert str(info.value) == (
        "@cached tests.cache.test_invalidation_fields.test_an_untracked_field_is_an_error_naming"
        "_the_fix.<locals>.by_stars@L116 depends_on: testapp.Opinion.stars is not tracked. Call "
        'perfkit.cache.track_fields(Opinion, "stars") in your models module, so every process '
        "that writes Opinion bumps it."
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((Opinion, "nope"), "track_fields(): testapp.Opinion has no field 'nope'."),
        ((Product, "opinions"), "track_fields(): testapp.Product.opinions is not a column"),
        ((object, "x"), "track_fields(): <class 'object'> is not a model class."),
        ((Opinion,), "track_fields(): name at least one field."),
    ],
)
def test_track_fields_rejects_what_it_cannot_track(args, message):
    with pytest.raises(ImproperlyConfiguredError) as info:
        track_fields(*args)
    assert str(info.value).startswith(message)


def test_values_are_canonical(pages):
    five, _, _ = pages

    @cached(timeout=60, depends_on=lambda pk: [(Opinion, {"product_id": str(pk)})])
    def texts(pk):
        return list(Opinion.objects.filter(product=pk).values_list("text", flat=True))

    texts(five.pk)
    opinion_of(five).save()
    assert texts.peek(five.pk) is MISSING


def test_a_boolean_flip_invalidates_both_values(alias):
    product = Product.objects.create(name="p")
    Opinion.objects.create(product=product, text="a", visible=True)
    Opinion.objects.create(product=product, text="b", visible=False)

    @cached(timeout=60, cache=alias, depends_on=lambda visible: [(Opinion, {"visible": visible})])
    def count(visible):
        return Opinion.objects.filter(visible=visible).count()

    assert (count(True), count(False)) == (1, 1)
    opinion = Opinion.objects.get(text="a")
    opinion.visible = False
    opinion.save()
    assert count.peek(True) is MISSING
    assert count.peek(False) is MISSING
    assert (count(True), count(False)) == (0, 2)


def test_an_expression_assigned_to_a_tracked_field_invalidates_every_value(pages):
    five, six, opinions = pages
    opinion = opinion_of(five)
    opinion.product_id = F("product_id")  # the new value is computed by the database
    opinion.save()
    assert opinions.peek(five.pk) is MISSING
    assert opinions.peek(six.pk) is MISSING


def test_invalidate_accepts_field_targets(pages):
    from perfkit.cache import invalidate

    five, six, opinions = pages
    invalidate((Opinion, {"product": five}))
    assert opinions.peek(five.pk) is MISSING
    assert opinions.peek(six.pk) == ["b"]
