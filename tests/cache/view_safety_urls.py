"""The views of the cached-view safety matrix (tests/cache/test_view_safety.py), as a URLconf.

Every case is one undecorated view, mounted four times: ``/<decorator>/<alias>/<case>/`` with
decorator ``perfkit`` (``@cached_view`` with the case's options) or ``cache_page`` (Django's),
on the cache alias ``default`` (local memory) or ``redis``.  Whatever belongs to one visitor is
written into the page as ``mine:<what>=<value>``: the matrix asserts that no marker of one
visitor ever reaches the other.  ``CALLS`` counts how often each mounted view really ran.
"""

from __future__ import annotations

import uuid
import zoneinfo
from collections import Counter
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, StreamingHttpResponse
from django.middleware.csrf import get_token
from django.urls import path
from django.utils import timezone, translation
from django.views.decorators.cache import cache_page
from django.views.decorators.vary import vary_on_cookie

from perfkit.cache import cached_view

CALLS: Counter[str] = Counter()
ALIASES = ("default", "redis")
TOKENS = {"tok-alice": "alice", "tok-bob": "bob"}  # a DRF-style token table


def timezone_middleware(get_response: Callable[[HttpRequest], Any]) -> Callable[..., Any]:
    """The site's own middleware: activates the visitor's time zone (from a proxy header)."""

    def middleware(request: HttpRequest) -> Any:
        name = request.headers.get("X-Timezone")
        if name:
            timezone.activate(zoneinfo.ZoneInfo(name))
        try:
            return get_response(request)
        finally:
            timezone.deactivate()

    return middleware


MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "tests.cache.view_safety_urls.timezone_middleware",
]


def _visitor(request: HttpRequest) -> str:
    return request.headers.get("X-Visitor", "?")


def _token_user(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    return TOKENS.get(header.removeprefix("Token ")) if header.startswith("Token ") else None


# -- the cases' views (each returns what the visitor should see) ------------------------------
def public(request: HttpRequest) -> HttpResponse:
    return HttpResponse("the same page for everyone")


def token_auth(request: HttpRequest) -> HttpResponse:
    # DRF-style: authentication happens inside the view and sets request.user
    username = _token_user(request)
    if username is not None:
        request.user = User.objects.get(username=username)
    user = request.user
    return HttpResponse(f"mine:email={user.email}" if user.is_authenticated else "anonymous")


def session_write(request: HttpRequest) -> HttpResponse:
    cart = request.session.setdefault("cart", uuid.uuid4().hex)
    return HttpResponse(f"your cart mine:cart={cart}")


def show_messages(request: HttpRequest) -> HttpResponse:
    shown = [f"mine:flash={message}" for message in messages.get_messages(request)]
    return HttpResponse("page " + " ".join(shown))


def language(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"mine:lang={translation.get_language()}")


def time_zone(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"mine:tz={timezone.get_current_timezone_name()}")


def scheme(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f'<a href="mine:url={request.build_absolute_uri("/next/")}">next</a>')


def raw_set_cookie(request: HttpRequest) -> HttpResponse:
    promo = uuid.uuid4().hex
    response = HttpResponse(f"mine:promo={promo}")
    response.headers["Set-Cookie"] = f"promo=mine:promo={promo}; Path=/"
    return response


def post(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"mine:posted={request.POST.get('name', '-')}")


def not_found(request: HttpRequest) -> HttpResponse:
    return HttpResponseNotFound(f"mine:missing={_visitor(request)}")


def streaming(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(iter([f"mine:stream={_visitor(request)}"]))


def private(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(f"mine:private={_visitor(request)}")
    response["Cache-Control"] = "private, max-age=60"
    return response


@vary_on_cookie
def vary_cookie(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"mine:theme={request.COOKIES.get('theme', '-')}")


def logged_in(request: HttpRequest) -> HttpResponse:
    user = request.user
    return HttpResponse(f"mine:email={user.email}" if user.is_authenticated else "anonymous")


def authorization(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"mine:auth={request.headers.get('Authorization', '-')[-5:]}")


def csrf_token(request: HttpRequest) -> HttpResponse:
    return HttpResponse(
        f'<input name="csrfmiddlewaretoken" value="mine:csrf={get_token(request)}">'
    )


async def async_public(request: HttpRequest) -> HttpResponse:
    return HttpResponse("the same async page for everyone")


async def async_token_auth(request: HttpRequest) -> HttpResponse:
    username = _token_user(request)
    if username is not None:
        request.user = await User.objects.aget(username=username)
    user = request.user if username is not None else await request.auser()
    return HttpResponse(f"mine:email={user.email}" if user.is_authenticated else "anonymous")


async def async_session_write(request: HttpRequest) -> HttpResponse:
    cart = await request.session.asetdefault("cart", uuid.uuid4().hex)
    return HttpResponse(f"your cart mine:cart={cart}")


def add_flash(request: HttpRequest) -> HttpResponse:
    """Not cached: the step before the page (an order form's redirect target adds this)."""
    messages.success(request, f"Thanks-{_visitor(request)}-order-4711-ships-to-you")
    return HttpResponse("added")


# case name -> (view, @cached_view options); the options a user of that page would choose
CASES: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {
    "public": (public, {}),
    "token_auth": (token_auth, {"per_user": True}),
    "session_write": (session_write, {"per_user": True}),
    "session_write_shared": (session_write, {}),
    "flash_cookie": (show_messages, {}),
    "flash_fallback": (show_messages, {}),
    "flash_session": (show_messages, {"per_user": True}),
    "language": (language, {}),
    "time_zone": (time_zone, {}),
    "scheme": (scheme, {}),
    "raw_set_cookie": (raw_set_cookie, {}),
    "post": (post, {}),
    "not_found": (not_found, {}),
    "streaming": (streaming, {}),
    "private": (private, {}),
    "vary_cookie": (vary_cookie, {"vary_on": ["Cookie"]}),
    "logged_in": (logged_in, {"per_user": True}),
    "logged_in_shared": (logged_in, {}),
    "authorization": (authorization, {"per_user": True}),
    "csrf_token": (csrf_token, {}),
    "async_public": (async_public, {}),
    "async_token_auth": (async_token_auth, {"per_user": True}),
    "async_session_write": (async_session_write, {"per_user": True}),
}


def _counted(name: str, view: Callable[..., Any]) -> Callable[..., Any]:
    if iscoroutinefunction(view):

        async def acounted(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            CALLS[name] += 1
            return await view(request, *args, **kwargs)

        acounted.__qualname__ = acounted.__name__ = name.replace("/", "_")
        return acounted

    def counted(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        CALLS[name] += 1
        return view(request, *args, **kwargs)

    counted.__qualname__ = counted.__name__ = name.replace("/", "_")
    return counted


def _mount() -> list[Any]:
    patterns = [path("flash/", add_flash)]
    for alias in ALIASES:
        for case, (view, options) in CASES.items():
            name = f"perfkit/{alias}/{case}"
            wrapped = cached_view(60, cache=alias, **options)(_counted(name, view))
            patterns.append(path(name + "/", wrapped))
            name = f"cache_page/{alias}/{case}"
            wrapped = cache_page(60, cache=alias, key_prefix="vs")(_counted(name, view))
            patterns.append(path(name + "/", wrapped))
    return patterns


urlpatterns = _mount()
