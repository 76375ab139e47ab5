"""warmer(): registration, planning, and clear errors for bad declarations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from demo_project.bookstore.models import Author
from perfkit.exceptions import WarmingError
from perfkit.warming import registry, warmer
from perfkit.warming.registry import get_warmer
from tests.warming import cachedfuncs


def test_default_name_is_the_cached_functions_name_and_decorator_form_sets_args():
    @warmer(cachedfuncs.square, priority=8, schedule=timedelta(minutes=5), chunk_size=2)
    def numbers():
        return [1, (2,), {"n": 3}]

    w = registry["tests.warming.cachedfuncs.square"]
    assert (w.priority, w.schedule, w.chunk_size) == (8, ("interval", 300.0), 2)
    assert list(w.plan()) == [((1,), {}), ((2,), {}), ((), {"n": 3})]
    assert list(w.encoded_chunks()) == [[[[1], {}], [[2], {}]], [[[], {"n": 3}]]]
    assert numbers() == [1, (2,), {"n": 3}]  # the decorator returns the function unchanged


def test_without_args_the_function_is_warmed_once_with_no_arguments():
    warmer(cachedfuncs.square, name="t.bare")
    assert list(registry["t.bare"].plan()) == [((), {})]


@pytest.mark.django_db
def test_a_queryset_plans_one_call_per_instance(bookstore):
    w = warmer(cachedfuncs.author_label, name="t.qs", args=Author.objects.all)
    assert [args for args, _ in w.plan()] == [(a,) for a in Author.objects.all()]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"priority": 10},
            "warmer 'x': priority must be an int from 0 (least urgent) to 9 (most urgent), "
            "not 10.",
        ),
        (
            {"priority": "high"},
            "warmer 'x': priority must be an int from 0 (least urgent) to 9 (most urgent), "
            "not 'high'.",
        ),
        ({"chunk_size": 0}, "warmer 'x': chunk_size must be an int >= 1, not 0."),
        ({"queue": ""}, "warmer 'x': queue must be a non-empty str or None, not ''."),
        (
            {"rate_limit": "fast"},
            "warmer 'x': rate_limit must look like '100/s', '600/m' or '3600/h' (calls per "
            "second, minute or hour), not 'fast'.",
        ),
        (
            {"schedule": "every minute"},
            "warmer 'x': schedule must be a number of seconds > 0, a timedelta or a crontab "
            'string with 5 fields like "*/15 * * * *" (minute hour day-of-month month '
            "day-of-week), not 'every minute'.",
        ),
        (
            {"args": [1, 2]},
            "warmer 'x': args must be a callable returning the calls to warm, not [1, 2]. "
            "Wrap a fixed list: args=lambda: [...].",
        ),
    ],
)
def test_bad_declarations_raise_naming_the_warmer(options, message):
    with pytest.raises(WarmingError) as info:
        warmer(cachedfuncs.square, name="x", **options)
    assert str(info.value) == message
    assert "x" not in registry


def test_only_cached_functions_can_be_warmed():
    with pytest.raises(WarmingError) as info:
        warmer(len)
    assert str(info.value) == (
        "warmer() needs a function decorated with @cached, not <built-in function len>. "
        "Decorate it with perfkit.cache.cached first."
    )


def test_unknown_warmer_lists_the_known_ones():
    warmer(cachedfuncs.square, name="t.known")
    with pytest.raises(WarmingError) as info:
        get_warmer("t.nope")
    assert str(info.value).startswith("No warmer named 't.nope' (known: ")
    assert "t.known" in str(info.value)
