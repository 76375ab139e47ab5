from __future__ import annotations

import pytest

from perfkit.bench import registered_scenarios, scenario, select
from perfkit.bench.registry import Scenario, autodiscover, unregister
from perfkit.exceptions import ImproperlyConfiguredError


def sample() -> int:
    return 1


@pytest.mark.usefixtures("clean_registry")
class TestScenario:
    def test_bare_decorator_uses_the_function_name(self):
        assert scenario(sample) is sample
        item = registered_scenarios["sample"]
        assert item.kind == "callable"
        assert item.label == "tests.bench.test_registry.sample"
        assert item.tags == ()

    def test_named_decorator_with_options(self):
        def setup() -> None:
            pass

        scenario("named", setup=setup, repeat=3, tags=["a", "b"])(sample)
        item = registered_scenarios["named"]
        assert (item.setup, item.repeat, item.tags) == (setup, 3, ("a", "b"))

    def test_url_scenario(self):
        item = scenario("books", url="/books/", user="alice", headers={"Accept": "text/html"})
        assert isinstance(item, Scenario)
        assert (item.kind, item.label, item.user) == ("url", "/books/", "alice")
        assert item.headers == {"Accept": "text/html"}
        assert registered_scenarios["books"] is item

    def test_url_scenario_through_the_decorator(self):
        scenario()("/books/naive/")
        assert registered_scenarios["/books/naive/"].kind == "url"

    def test_url_must_be_a_path(self):
        with pytest.raises(ImproperlyConfiguredError) as info:
            scenario("x", url="books/")
        assert str(info.value) == (
            "The URL of scenario 'x' must be a path starting with '/', got 'books/'."
        )

    def test_registering_the_same_function_again_is_fine(self):
        scenario("again")(sample)
        scenario("again")(sample)
        assert registered_scenarios["again"].target is sample

    def test_two_targets_with_one_name_fail(self):
        scenario("clash")(sample)
        with pytest.raises(ImproperlyConfiguredError) as info:
            scenario("clash", url="/books/")
        assert str(info.value) == (
            "Two perfkit scenarios are named 'clash': tests.bench.test_registry.sample and "
            "/books/. Give one of them another name with scenario(name=...)."
        )

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"repeat": 0}, "scenario(repeat=...) must be a whole number >= 1, got 0."),
            ({"repeat": True}, "scenario(repeat=...) must be a whole number >= 1, got True."),
            (
                {"tags": "list"},
                "scenario(tags=...) must be a list of strings, got the string 'list'; "
                "write tags=['list'].",
            ),
            (
                {"setup": 3},
                "scenario(setup=...) must be a callable taking no arguments, got 3.",
            ),
        ],
    )
    def test_bad_options(self, kwargs, message):
        with pytest.raises(ImproperlyConfiguredError) as info:
            scenario("bad", **kwargs)
        assert str(info.value) == message

    def test_empty_name(self):
        with pytest.raises(ImproperlyConfiguredError) as info:
            scenario("  ")
        assert str(info.value) == "scenario(name=...) must be a non-empty string, got '  '."

    def test_target_must_be_callable_or_path(self):
        with pytest.raises(ImproperlyConfiguredError) as info:
            scenario("n")(42)
        assert str(info.value) == "scenario() registers a callable or a URL path string, got 42."

    def test_unregister(self):
        scenario("gone")(sample)
        unregister("gone")
        unregister("gone")  # twice is fine
        assert "gone" not in registered_scenarios


@pytest.mark.usefixtures("clean_registry")
class TestSelect:
    @pytest.fixture(autouse=True)
    def _three(self, clean_registry):
        registered_scenarios.clear()
        scenario("one", tags=["list"])(sample)
        scenario("two", url="/books/", tags=["page", "list"])
        scenario("three", url="/api/books/", tags=["page"])

    def test_everything_by_default(self):
        assert [s.name for s in select()] == ["one", "two", "three"]

    def test_by_name_keeps_the_given_order(self):
        assert [s.name for s in select(["three", "one"])] == ["three", "one"]

    def test_by_tag(self):
        assert [s.name for s in select(tags=["page"])] == ["two", "three"]
        assert [s.name for s in select(["one", "three"], tags=["list"])] == ["one"]

    def test_unknown_name_suggests_the_closest(self):
        with pytest.raises(ImproperlyConfiguredError) as info:
            select(["thre"])
        assert str(info.value) == (
            "No perfkit scenario is named 'thre'. Did you mean 'three'? "
            "Registered: one, two, three."
        )

    def test_unknown_name_with_nothing_registered(self):
        registered_scenarios.clear()
        with pytest.raises(ImproperlyConfiguredError) as info:
            select(["x"])
        assert str(info.value) == (
            "No perfkit scenario is named 'x'. Registered: none (is the app with "
            "perf_scenarios.py installed?)."
        )


def test_autodiscover_finds_the_demo_scenarios():
    autodiscover()
    demo = {
        name: s
        for name, s in registered_scenarios.items()
        if s.label.startswith(("demo_project.", "/"))
    }
    assert {"list-naive", "list-optimised", "page-list-naive", "page-list-optimised"} <= set(demo)
    assert demo["list-naive"].label == "demo_project.bookstore.perf_scenarios.list_naive"
    assert demo["page-list-naive"].label == "/books/naive/"
