"""Two visitors per case through a real middleware stack: one never gets the other's page.

Each case of ``tests/cache/view_safety_urls.py`` runs through ``@cached_view`` and through
Django's ``cache_page`` (same view, same stack: Session, Locale, Common, CSRF, Auth, Messages and
a time-zone middleware), on local memory and on Redis.  Visitors alternate A, B, A, B, A, B.
*cached*: at least one of the six requests was served without running the view.  *safe*: no
``mine:`` marker of one visitor reached the other.  ``perfkit`` must be safe in every case and
cache every case ``cache_page`` caches safely.  ``-s`` prints the table (``PERFKIT_VIEW_MATRIX=
path`` writes it as Markdown).
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import path

from perfkit.cache import cached_view
from tests.cache import view_safety_urls as urls

ROUNDS = 6  # A, B, A, B, A, B
MARKER = re.compile(r"mine:[^\s\"';<]+")

STACK = override_settings(
    ROOT_URLCONF="tests.cache.view_safety_urls",
    MIDDLEWARE=urls.MIDDLEWARE,
    USE_I18N=True,
    LANGUAGE_CODE="en",
)
STORAGES = {
    "flash_cookie": "django.contrib.messages.storage.cookie.CookieStorage",
    "flash_fallback": "django.contrib.messages.storage.fallback.FallbackStorage",
    "flash_session": "django.contrib.messages.storage.session.SessionStorage",
}

# what @cached_view does with each case: True = serves hits, False = never caches it
PERFKIT_CACHES = {
    "public": True,
    "token_auth": True,  # per user: keyed by the Authorization digest
    "session_write": True,  # once the visitor's session exists (the creating request is not)
    "session_write_shared": False,  # the session cookie bypasses without per_user
    "flash_cookie": True,  # the visitor without the messages cookie is served
    "flash_fallback": True,
    "flash_session": True,
    "language": True,
    "time_zone": True,
    "scheme": True,
    "raw_set_cookie": False,
    "post": False,
    "not_found": False,
    "streaming": False,
    "private": False,
    "vary_cookie": True,
    "logged_in": True,
    "logged_in_shared": False,
    "authorization": True,
    "csrf_token": False,
    "async_public": True,
    "async_token_auth": True,
    "async_session_write": True,
}


@dataclass
class Outcome:
    cached: bool
    safe: bool
    calls: int
    leaked: list[str]

    def cell(self) -> str:
        return f"{'cached' if self.cached else 'not cached'}, {'safe' if self.safe else 'LEAKS'}"


class Visitor:
    """One browser: its own cookies, headers and credentials."""

    def __init__(self, case: str, name: str) -> None:
        self.case = case
        self.name = name
        self.headers: dict[str, str] = {"X-Visitor": name}
        self.secure = False
        self.client = Client()
        self.markers: set[str] = set()
        first = name == "alice"
        if case.endswith("token_auth"):
            self.headers["Authorization"] = f"Token tok-{name}"
        elif case == "authorization":
            self.headers["Authorization"] = "Basic YWxpY2U6cHc=" if first else "Basic Ym9iOnB3"
        elif case == "language":
            self.headers["Accept-Language"] = "de" if first else "en"
        elif case == "time_zone":
            self.headers["X-Timezone"] = "Europe/Berlin" if first else "America/New_York"
        elif case == "scheme":
            self.secure = first
        elif case == "vary_cookie":
            self.client.cookies["theme"] = "dark" if first else "light"
        elif case.startswith("logged_in"):
            self.client.force_login(User.objects.get(username=name))
        elif case.startswith("flash") and first:
            self.client.get("/flash/", headers=self.headers)

    def visit(self, url: str) -> None:
        if self.case == "post":
            response = self.client.post(url, {"name": self.name}, headers=self.headers)
        else:
            response = self.client.get(url, headers=self.headers, secure=self.secure)
        text = b"".join(response).decode() if response.streaming else response.content.decode()
        self.markers.update(MARKER.findall(text + " " + response.headers.get("Set-Cookie", "")))


def run(case: str, decorator: str, alias: str) -> Outcome:
    url = f"/{decorator}/{alias}/{case}/"
    urls.CALLS.clear()
    with override_settings(MESSAGE_STORAGE=STORAGES.get(case, STORAGES["flash_fallback"])):
        alice, bob = Visitor(case, "alice"), Visitor(case, "bob")
        for _ in range(ROUNDS // 2):
            alice.visit(url)
            bob.visit(url)
    calls = urls.CALLS[url.strip("/")]
    leaked = sorted(alice.markers & bob.markers)
    return Outcome(cached=calls < ROUNDS, safe=not leaked, calls=calls, leaked=leaked)


@pytest.fixture(params=urls.ALIASES)
def alias(request: pytest.FixtureRequest, db: Any) -> str:
    if request.param == "redis":
        request.getfixturevalue("redis_cache")
    return request.param


@pytest.fixture(autouse=True)
def _site(db: Any) -> Any:
    User.objects.create_user("alice", email="alice@example.com")
    User.objects.create_user("bob", email="bob@example.com")
    with STACK:
        yield


@pytest.mark.parametrize("case", list(urls.CASES))
def test_second_visitor_never_gets_the_first_visitors_page(case: str, alias: str) -> None:
    perfkit = run(case, "perfkit", alias)
    assert perfkit.safe, f"{case}: the markers {perfkit.leaked} reached the other visitor"
    assert perfkit.cached is PERFKIT_CACHES[case], f"{case}: {perfkit}"
    django = run(case, "cache_page", alias)
    if django.cached and django.safe:
        assert perfkit.cached, f"{case}: cache_page caches it safely, @cached_view does not"


def test_matrix_table(alias: str) -> None:
    lines = [
        f"| case ({alias}) | `@cached_view` options | perfkit | `cache_page` |",
        "|---|---|---|---|",
    ]
    for case, (_, options) in urls.CASES.items():
        shown = ", ".join(f"{k}={v!r}" for k, v in options.items()) or "-"
        perfkit, django = run(case, "perfkit", alias), run(case, "cache_page", alias)
        assert perfkit.safe, case
        lines.append(f"| {case} | {shown} | {perfkit.cell()} | {django.cell()} |")
    text = "\n".join(lines)
    print("\n" + text)
    target = os.environ.get("PERFKIT_VIEW_MATRIX")
    if target:
        with open(target, "a") as out:
            out.write(text + "\n\n")


def _plain(request: HttpRequest, case: str) -> HttpResponse:
    LOCALE_CALLS.append(case)
    return urls.CASES[case][0](request)


LOCALE_CALLS: list[str] = []
# this module is the URLconf of the test below: each case uncached and cached on each alias
urlpatterns = [
    path("plain/<str:case>/", _plain),
    *(path(f"cached/{a}/<str:case>/", cached_view(60, cache=a)(_plain)) for a in urls.ALIASES),
]


@pytest.mark.parametrize(("use_i18n", "use_tz"), [(False, True), (True, False), (False, False)])
@pytest.mark.parametrize("case", ["language", "time_zone"])
def test_language_and_time_zone_pages_are_the_visitors_own_with_i18n_or_tz_off(
    case: str, use_i18n: bool, use_tz: bool, alias: str
) -> None:
    # USE_TZ = False turns off Django's conversions, not timezone.activate(); USE_I18N changed
    # at run time does not switch the translation functions Django resolved: what renders is
    # get_language() and get_current_timezone_name(), so both stay in the key (cache_page
    # leaves them out and mixes these pages).  Each visitor gets what the view renders for them.
    LOCALE_CALLS.clear()
    with override_settings(ROOT_URLCONF=__name__, USE_I18N=use_i18n, USE_TZ=use_tz):
        visitors = [Visitor(case, "alice"), Visitor(case, "bob")]
        for _ in range(ROUNDS // 2):
            for visitor in visitors:
                get = functools.partial(visitor.client.get, headers=visitor.headers)
                plain = get(f"/plain/{case}/").content
                assert get(f"/cached/{alias}/{case}/").content == plain, visitor.name
    assert ROUNDS < len(LOCALE_CALLS) <= ROUNDS + 2  # at most once per visitor uncached
