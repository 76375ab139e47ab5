"""Benchmark scenarios: ``scenario()`` registers them, ``autodiscover()`` finds them.

A scenario is a callable (called with no arguments) or a URL path requested through Django's
test client.  Projects register theirs in a ``perf_scenarios.py`` module of any installed app.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, overload

from perfkit.exceptions import ImproperlyConfiguredError

__all__ = ["Scenario", "autodiscover", "registered_scenarios", "scenario", "select", "unregister"]


@dataclass(frozen=True)
class Scenario:
    """One registered scenario: what to run and how often."""

    name: str
    target: Callable[[], Any] | str
    setup: Callable[[], Any] | None = None
    repeat: int | None = None
    tags: tuple[str, ...] = ()
    user: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """``"url"`` for a URL path, ``"callable"`` for a function."""
        return "url" if isinstance(self.target, str) else "callable"

    @property
    def label(self) -> str:
        """What the scenario runs: the URL path or ``module.qualname``."""
        if isinstance(self.target, str):
            return self.target
        module = getattr(self.target, "__module__", "?")
        return f"{module}.{getattr(self.target, '__qualname__', repr(self.target))}"


# name -> Scenario, in registration order
registered_scenarios: dict[str, Scenario] = {}


def _register(item: Scenario) -> Scenario:
    existing = registered_scenarios.get(item.name)
    # re-importing a module (autoreload, a test importing it twice) registers the same thing again
    if existing is not None and existing.label != item.label:
        raise ImproperlyConfiguredError(
            f"Two perfkit scenarios are named {item.name!r}: {existing.label} and {item.label}. "
            f"Give one of them another name with scenario(name=...)."
        )
    registered_scenarios[item.name] = item
    return item


def _validate(name: str | None, repeat: int | None, tags: Iterable[str]) -> tuple[str, ...]:
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ImproperlyConfiguredError(
            f"scenario(name=...) must be a non-empty string, got {name!r}."
        )
    if repeat is not None and (
        isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1
    ):
        raise ImproperlyConfiguredError(
            f"scenario(repeat=...) must be a whole number >= 1, got {repeat!r}."
        )
    if isinstance(tags, str):
        raise ImproperlyConfiguredError(
            f"scenario(tags=...) must be a list of strings, got the string {tags!r}; "
            f"write tags=[{tags!r}]."
        )
    return tuple(tags)


@overload
def scenario(name: Callable[..., Any], /) -> Callable[..., Any]: ...


@overload
def scenario(
    name: str | None = None,
    *,
    setup: Callable[[], Any] | None = None,
    repeat: int | None = None,
    tags: Iterable[str] = (),
    url: str | None = None,
    user: str | None = None,
    headers: dict[str, str] | None = None,
) -> Any: ...


def scenario(
    name: Any = None,
    *,
    setup: Callable[[], Any] | None = None,
    repeat: int | None = None,
    tags: Iterable[str] = (),
    url: str | None = None,
    user: str | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """Register a benchmark scenario.

    As a decorator: ``@scenario`` or ``@scenario("name", tags=["list"])`` on a function (or an
    ``async def``) that takes no arguments.  For a page:
    ``scenario("books", url="/books/", user="alice")`` (the user, if given, is logged in with
    ``force_login``) or ``scenario("books")("/books/")``.
    ``setup`` runs before every measured run, untimed; ``repeat`` overrides ``--repeat``.
    """
    if callable(name):  # bare @scenario
        return scenario()(name)
    tag_tuple = _validate(name, repeat, tags)
    if setup is not None and not callable(setup):
        raise ImproperlyConfiguredError(
            f"scenario(setup=...) must be a callable taking no arguments, got {setup!r}."
        )

    def register(target: Any) -> Any:
        if isinstance(target, str):
            if not target.startswith("/"):
                raise ImproperlyConfiguredError(
                    f"The URL of scenario {name!r} must be a path starting with '/', "
                    f"got {target!r}."
                )
            scenario_name = name or target
        elif callable(target):
            scenario_name = name or getattr(target, "__name__", None) or repr(target)
        else:
            raise ImproperlyConfiguredError(
                f"scenario() registers a callable or a URL path string, got {target!r}."
            )
        _register(
            Scenario(
                name=scenario_name,
                target=target,
                setup=setup,
                repeat=repeat,
                tags=tag_tuple,
                user=user,
                headers=dict(headers or {}),
            )
        )
        return target

    if url is not None:
        register(url)
        return registered_scenarios[name or url]
    return register


def unregister(name: str) -> None:
    """Remove a scenario (tests use it to clean up after themselves)."""
    registered_scenarios.pop(name, None)


def autodiscover() -> None:
    """Import the ``perf_scenarios`` module of every installed app that has one."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("perf_scenarios")


def select(names: Iterable[str] = (), *, tags: Iterable[str] = ()) -> list[Scenario]:
    """The registered scenarios with the given names and/or any of the given tags.

    No names and no tags: every scenario.  An unknown name raises ImproperlyConfiguredError
    with the closest registered name.
    """
    names = list(names)
    wanted_tags = set(tags)
    for wanted in names:
        if wanted not in registered_scenarios:
            close = difflib.get_close_matches(wanted, registered_scenarios, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            known = (
                ", ".join(registered_scenarios)
                or "none (is the app with perf_scenarios.py installed?)"
            )
            raise ImproperlyConfiguredError(
                f"No perfkit scenario is named {wanted!r}.{hint} Registered: {known}."
            )
    chosen = (
        [registered_scenarios[n] for n in names] if names else list(registered_scenarios.values())
    )
    if wanted_tags:
        chosen = [s for s in chosen if wanted_tags.intersection(s.tags)]
    return chosen
