from __future__ import annotations

import datetime
import decimal
import enum
import subprocess
import sys
import uuid

import pytest

from perfkit.cache import cached
from perfkit.cache.keys import encode, safe_key
from perfkit.exceptions import CacheKeyError


class Colour(enum.Enum):
    RED = 1


def test_values_encode_by_value():
    assert encode(decimal.Decimal("1.50")) == encode(decimal.Decimal("1.5"))
    assert encode({"b": 1, "a": 2}) == encode({"a": 2, "b": 1})
    assert encode({3, 1, 2}) == encode({1, 2, 3})
    assert encode(uuid.UUID(int=5)) == "u" + "0" * 31 + "5"
    assert encode(Colour.RED) == "etests.cache.test_keys.Colour.RED"
    assert encode((1, "a")) != encode([1, "a"])
    assert encode("1") != encode(1)
    assert encode(True) != encode(1)
    assert encode(datetime.date(2024, 1, 2)) == "D2024-01-02"
    utc = datetime.datetime(2024, 1, 2, 3, 0, tzinfo=datetime.UTC)
    seoul = utc.astimezone(datetime.timezone(datetime.timedelta(hours=9)))
    assert encode(utc) == encode(seoul)


@pytest.mark.django_db
def test_model_instances_key_by_label_and_pk():
    from demo_project.bookstore.models import Author

    author = Author.objects.create(name="A")
    assert encode(author) == f"mbookstore.author:{author.pk}"
    assert encode(Author) == "Mbookstore.author"


def test_kwargs_order_and_defaults_do_not_change_the_key():
    @cached(timeout=10)
    def f(a, b=2, *, c=3):
        return a

    assert f.key_for(1) == f.key_for(1, 2) == f.key_for(a=1, c=3, b=2) == f.key_for(1, c=3)
    assert f.key_for(1) != f.key_for(2)
    assert f.key_for(1).startswith("pkt:c:tests.cache.test_keys.")
    assert len(f.key_for("x" * 10_000)) < 250


def test_keys_are_stable_across_processes():
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='tests.settings'; django.setup();"
        "from perfkit.cache import cached\n"
        "@cached(timeout=1)\ndef g(a, b): return a\n"
        "import decimal; print(g.key_for({'x': decimal.Decimal('2.0'), 'y': (1, None)}, 'z'))"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        for _ in range(2)
    }
    assert len(runs) == 1

    @cached(timeout=1)
    def g(a, b):
        return a

    here = g.key_for({"x": decimal.Decimal("2.0"), "y": (1, None)}, "z")
    assert runs.pop().strip().endswith(":c:__main__.g:" + here.rsplit(":", 1)[1])


def test_unkeyable_argument_names_function_argument_and_escape_hatch():
    @cached(timeout=10)
    def render(page, widget):
        return page

    with pytest.raises(CacheKeyError) as info:
        render(1, object())
    assert str(info.value).startswith(
        f"@cached {render.perfkit_name}(): argument 'widget' cannot be keyed stably (object "
        "values have no stable representation: <object object at "
    )
    assert str(info.value).endswith(
        'Pass key= to @cached (a format string such as "item:{widget}" or a callable of the '
        "arguments), or give the type a __perfkit_key__() method."
    )
    assert isinstance(info.value, TypeError)


def test_key_template_and_callable():
    @cached(timeout=10, key="book:{book_id}:{lang}")
    def detail(book_id, lang="en"):
        return book_id

    @cached(timeout=10, key=lambda widget: f"w:{widget.name}")
    def render(widget):
        return widget.name

    class Widget:
        name = "top"

    assert detail.key_for(5) == "pkt:c:book:5:en"
    assert render.key_for(Widget()) == "pkt:c:w:top"
    assert safe_key("has space").startswith("h:")


def test_version_is_part_of_the_key():
    @cached(timeout=10, version=2)
    def f(a):
        return a

    assert ":v2:" in f.key_for(1)


def test_perfkit_key_protocol():
    class Point:
        def __init__(self, x):
            self.x = x

        def __perfkit_key__(self):
            return ("point", self.x)

    assert encode(Point(1)) == encode(Point(1)) != encode(Point(2))
