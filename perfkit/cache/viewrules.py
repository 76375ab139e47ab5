"""The safety rules of ``@cached_view``: who shares an entry, what the key holds, what is stored.

Three moments decide:

* before the view (``ViewRules.bypass``): a request the cache may not serve or fill is passed
  through (not GET/HEAD, a cookie outside the allow-list, a session cookie or ``Authorization``
  header without ``per_user=True``, a query parameter outside ``query=``);
* the key (``ViewRules.key_text``): scheme, host, path, query, the ``vary_on`` headers, the active
  language and time zone, and with ``per_user=True`` the identity (user pk, else session key,
  plus a digest of ``Authorization``);
* after the view (``unsafe_response``, ``identity_changed``): the response and the request's
  identity must still match the key, else nothing is stored.

Keys must stay bounded: ``ViewOptions.unbounded`` (no timeout, no ``query=``) is perfkit.W102.

A hit costs what these rules cost, so what depends only on a view's options is computed once
(``ViewRules``) and the settings they read once per setting change (``current()``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone, translation
from django.utils.functional import LazyObject

from perfkit.cache.keys import digest
from perfkit.conf import perfkit_settings
from perfkit.internals import lazy

__all__ = [
    "UNBOUNDED_FIX",
    "Identity",
    "Snapshot",
    "ViewOptions",
    "ViewRules",
    "current",
    "identity_after",
    "identity_changed",
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


class Snapshot:
    """The settings every cached view reads per request, read once (again after a change).

    A hit would otherwise go through ``django.conf.settings`` and ``perfkit_settings`` about ten
    times; ``current()`` returns this object until a setting changes (``setting_changed``, sent
    by ``override_settings``; production settings never change).
    """

    __slots__ = ("cookie_names", "cookie_prefixes", "epoch", "header", "session")

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch
        self.session: str = settings.SESSION_COOKIE_NAME
        names = {settings.CSRF_COOKIE_NAME, settings.LANGUAGE_COOKIE_NAME}
        prefixes = []
        for allowed in perfkit_settings.VIEW_CACHE_COOKIES:
            if allowed.endswith("*"):
                prefixes.append(allowed[:-1])
            else:
                names.add(allowed)
        # the CSRF rules and the language in the key cover the CSRF and language cookies
        self.cookie_names = frozenset(names)
        self.cookie_prefixes = tuple(prefixes)
        self.header = bool(settings.DEBUG and perfkit_settings.VIEW_CACHE_HEADER)

    def allowed_cookie(self, name: str) -> bool:
        return name in self.cookie_names or name.startswith(self.cookie_prefixes)


def _locale() -> tuple[str, str]:
    """The active language and time zone, read per request whatever ``USE_I18N``/``USE_TZ`` say.

    ``USE_TZ = False`` turns off Django's conversions, not ``timezone.activate()``: a view may
    still show ``get_current_timezone_name()`` (``cache_page`` leaves it out of its key and
    mixes such pages).  ``USE_I18N`` changed by ``override_settings`` does not switch the
    translation functions Django already resolved, so ``get_language()`` is what renders.
    """
    return translation.get_language() or "", timezone.get_current_timezone_name()


_epoch = [0]
_snapshot: list[Snapshot] = []


@receiver(setting_changed)
def _settings_changed(**kwargs: Any) -> None:
    _epoch[0] += 1  # any setting: the snapshot is rebuilt on the next request


def current() -> Snapshot:
    """The settings snapshot of this moment (rebuilt once after any setting change)."""
    if _snapshot and _snapshot[0].epoch == _epoch[0]:
        return _snapshot[0]
    snapshot = Snapshot(_epoch[0])
    _snapshot[:] = [snapshot]
    return snapshot


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


def _no_query(request: HttpRequest) -> bool:
    """True when the request has no query parameters, without parsing an empty query string.

    ``request.GET`` is parsed on first access and then lives in the instance's ``__dict__``
    (also when a middleware replaced it): only an untouched ``GET`` is judged by the raw string.
    """
    if "GET" in request.__dict__:
        return not request.GET
    return not request.META.get("QUERY_STRING")


class ViewRules:
    """The rules of one decorated view, with what depends only on its options computed once."""

    __slots__ = ("per_user", "query", "vary", "vary_all_cookies", "vary_meta")

    def __init__(self, *, per_user: bool, vary: Iterable[str], query: frozenset[str] | None):
        self.per_user = per_user
        self.vary = frozenset(h.lower() for h in vary)
        self.query = query
        # with vary_on=["Cookie"] every cookie is in the key and the allow-list does not apply
        self.vary_all_cookies = "cookie" in self.vary
        self.vary_meta = tuple("HTTP_" + h.upper().replace("-", "_") for h in sorted(self.vary))

    def bypass(self, request: HttpRequest, snapshot: Snapshot) -> bool:
        """True when the cache must neither serve nor store this request."""
        if request.method not in ("GET", "HEAD"):
            return True
        per_user = self.per_user
        if not per_user and "HTTP_AUTHORIZATION" in request.META:
            return True
        cookies = request.COOKIES
        if cookies:
            session_name = snapshot.session
            if not per_user and session_name in cookies:
                return True
            if not self.vary_all_cookies:
                for name, value in cookies.items():
                    # an empty value carries nothing (a deleted cookie some clients still send)
                    if value and name != session_name and not snapshot.allowed_cookie(name):
                        return True
        query = self.query
        if query is None or _no_query(request):
            return False
        return not set(request.GET) <= query

    def identity_before(self, request: HttpRequest, user: Any, snapshot: Snapshot) -> Identity:
        """The identity the key is built with; ``user``: the evaluated user (per_user) or None."""
        auth = request.META.get("HTTP_AUTHORIZATION")
        cookies = request.COOKIES
        return Identity(
            _user_pk(user),
            cookies.get(snapshot.session) if cookies else None,
            digest(auth) if auth is not None else None,
            *_locale(),
        )

    def key_text(self, request: HttpRequest, identity: Identity) -> str:
        """Everything that selects one stored response, as one digest."""
        query = self.query
        params: list[Any] = []
        if not _no_query(request):
            params = sorted(
                (name, values)
                for name, values in request.GET.lists()
                if query is None or name in query
            )
        meta = request.META
        parts: list[Any] = [request.scheme, request.get_host(), request.path, params]
        parts += [meta.get(name) for name in self.vary_meta]
        parts += [identity.language, identity.time_zone]
        if self.per_user:
            who = f"u{identity.user}" if identity.user is not None else "anon"
            if identity.user is None and identity.session is not None:
                who = "s:" + identity.session  # inside the one digest below, never stored
            parts += [who, identity.authorization]
        return digest(repr(parts))


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


def unsafe_response(
    request: HttpRequest, response: HttpResponseBase, vary: frozenset[str] | set[str]
) -> bool:
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
