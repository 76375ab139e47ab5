"""The safety rules of ``@cached_view``: who shares an entry, what the key holds, what is stored.

Three moments decide:

* before the view (``bypass``): a request the cache may not serve or fill is passed through
  (not GET/HEAD, a cookie outside the allow-list, a session cookie or ``Authorization`` header
  without ``per_user=True``, a query parameter outside ``query=``);
* the key (``key_text``): scheme, host, path, query, the ``vary_on`` headers, the active
  language and time zone, and with ``per_user=True`` the identity (user pk, else session key,
  plus a digest of ``Authorization``);
* after the view (``unsafe_response``, ``identity_changed``): the response and the request's
  identity must still match the key, else nothing is stored.

Keys must stay bounded: ``ViewOptions.unbounded`` (no timeout, no ``query=``) is perfkit.W102.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.messages import get_messages
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone, translation
from django.utils.functional import LazyObject

from perfkit.cache.keys import digest
from perfkit.conf import perfkit_settings
from perfkit.internals import lazy

__all__ = [
    "UNBOUNDED_FIX",
    "Identity",
    "ViewOptions",
    "bypass",
    "identity_after",
    "key_text",
    "unbounded_problem",
    "unsafe_response",
    "view_options",
]

_UNSAFE_CACHE_CONTROL = ("private", "no-store", "no-cache")


class Identity(NamedTuple):
    """Who a response was rendered for; ``None`` parts are unknown/absent."""

    user: str | None  # pk of the authenticated user
    session: str | None  # session key (from the cookie before the view, the store after)
    authorization: str | None  # digest of the Authorization header
    language: str
    time_zone: str


def _allowed_cookie(name: str, extra: Iterable[str]) -> bool:
    if name in (settings.CSRF_COOKIE_NAME, settings.LANGUAGE_COOKIE_NAME):
        return True  # the CSRF rules below and the language in the key cover them
    for allowed in extra:
        if name == allowed or (allowed.endswith("*") and name.startswith(allowed[:-1])):
            return True
    return False


def bypass(
    request: HttpRequest, *, per_user: bool, vary: set[str], query: frozenset[str] | None
) -> bool:
    """True when the cache must neither serve nor store this request."""
    if request.method not in ("GET", "HEAD"):
        return True
    if not per_user and "HTTP_AUTHORIZATION" in request.META:
        return True
    cookies = request.COOKIES
    if cookies:
        session_name = settings.SESSION_COOKIE_NAME
        if not per_user and session_name in cookies:
            return True
        if "cookie" not in vary:  # with vary_on=["Cookie"] every cookie is in the key
            extra = perfkit_settings.VIEW_CACHE_COOKIES
            for name, value in cookies.items():
                # an empty value carries nothing (a deleted cookie some clients still send)
                if value and name != session_name and not _allowed_cookie(name, extra):
                    return True
    return query is not None and not set(request.GET) <= query


def evaluated_user(request: HttpRequest) -> Any:
    """``request.user`` if it is known without a query (set, or a lazy user already loaded)."""
    user = request.__dict__.get("user")
    if isinstance(user, LazyObject):
        return lazy.lazy_value(user)  # None while it is not evaluated
    return user


def _user_pk(user: Any) -> str | None:
    if user is not None and getattr(user, "is_authenticated", False) is True:
        return str(user.pk)
    return None


def _locale() -> tuple[str, str]:
    return translation.get_language() or "", timezone.get_current_timezone_name()


def identity_before(request: HttpRequest, user: Any) -> Identity:
    """The identity the key is built with; ``user`` is the evaluated user (per_user) or None."""
    auth = request.META.get("HTTP_AUTHORIZATION")
    return Identity(
        _user_pk(user),
        request.COOKIES.get(settings.SESSION_COOKIE_NAME) if request.COOKIES else None,
        digest(auth) if auth is not None else None,
        *_locale(),
    )


def identity_after(request: HttpRequest, before: Identity, user: Any) -> Identity:
    """The identity once the view ran; ``user`` as ``evaluated_user`` (or ``auser()``)."""
    session = getattr(request, "session", None)
    key = before.session  # no SessionMiddleware: nothing can have changed it
    if session is not None:
        key = session.session_key
        if key is None and session.modified:
            key = "<new session>"  # the view created a session: its cookie is set afterwards
    return Identity(_user_pk(user), key, before.authorization, *_locale())


def identity_changed(before: Identity, after: Identity, *, per_user: bool) -> bool:
    """True when the response may belong to someone the key does not name."""
    if (before.session, before.language, before.time_zone) != (
        after.session,
        after.language,
        after.time_zone,
    ):
        return True
    if before.user == after.user:
        return False
    # a user resolved inside the view from the Authorization header (DRF-style token auth):
    # the key holds that header's digest, so only the same credentials reach the entry
    return not (per_user and before.user is None and before.authorization is not None)


def key_text(
    request: HttpRequest,
    identity: Identity,
    *,
    per_user: bool,
    vary: Iterable[str],
    query: frozenset[str] | None,
) -> str:
    """Everything that selects one stored response, as one digest."""
    params = sorted(
        (name, values) for name, values in request.GET.lists() if query is None or name in query
    )
    parts: list[Any] = [request.scheme, request.get_host(), request.path, params]
    parts += [request.META.get("HTTP_" + h.upper().replace("-", "_")) for h in sorted(vary)]
    parts += [identity.language, identity.time_zone]
    if per_user:
        who = f"u{identity.user}" if identity.user is not None else "anon"
        if identity.user is None and identity.session is not None:
            who = "s" + digest(identity.session)
        parts += [who, identity.authorization]
    return digest(repr(parts))


def unsafe_response(request: HttpRequest, response: HttpResponseBase, vary: set[str]) -> bool:
    """True when the response must not be stored whoever asked for it."""
    if response.status_code != 200 or getattr(response, "streaming", False):
        return True
    if response.cookies or response.has_header("Set-Cookie"):
        return True
    if request.META.get("CSRF_COOKIE_NEEDS_UPDATE") or request.META.get("CSRF_COOKIE_USED"):
        return True  # a CSRF token is in the page or its cookie is (re)set afterwards
    control = response.get("Cache-Control", "").lower()
    if any(word in control for word in _UNSAFE_CACHE_CONTROL):
        return True
    if response.has_header("Vary"):
        varies = {h.strip().lower() for h in response["Vary"].split(",") if h.strip()}
        if "*" in varies or not varies <= vary:
            return True
    # MessageMiddleware's storage ([] without it): a flash message shown in the page, or queued
    # by the view, belongs to this visitor
    storage = get_messages(request)
    return bool(
        getattr(storage, "added_new", False) or (getattr(storage, "used", False) and len(storage))
    )


class ViewOptions:
    """What ``@cached_view`` was given for one view (read by the system checks)."""

    def __init__(self, name: str, timeout: Any, query: frozenset[str] | None) -> None:
        self.name = name
        self.timeout = timeout
        self.query = query

    @property
    def unbounded(self) -> bool:
        """No expiry and any query string: strangers can mint entries that never go away."""
        return self.timeout is None and self.query is None


view_options: dict[str, ViewOptions] = {}


UNBOUNDED_FIX = (
    "Pass the query parameters the view reads, e.g. query=['page', 'sort'] (query=[] for none; "
    "requests with other parameters then bypass the cache), or a finite timeout."
)


def unbounded_problem(name: str) -> str:
    """The text of perfkit.W102 (and of the warning at decoration) for the view ``name``."""
    return (
        f"@cached_view {name} has timeout=None and no query= allow-list: every random query "
        f"string (?x=1, ?x=2, ...) adds an entry that never expires."
    )
