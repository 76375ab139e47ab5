from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpResponse, JsonResponse
from django.test import RequestFactory
from django.views import View

from demo_project.bookstore.models import Author
from perfkit.cache import CachedViewMixin, cached_view

rf = RequestFactory()


def counted(**options):
    calls = []

    def view(request, pk=0):
        calls.append(request.method)
        return HttpResponse(f"page {pk} {len(calls)}", headers={"X-Custom": "yes"})

    return cached_view(60, **options)(view), calls


def test_get_responses_are_cached_with_their_headers(db, settings):
    settings.DEBUG = True
    view, calls = counted()
    first = view(rf.get("/p/"), pk=1)
    second = view(rf.get("/p/"), pk=1)
    assert first.content == second.content == b"page 1 1"
    assert second["X-Custom"] == "yes"
    assert (first["X-Perfkit-Cache"], second["X-Perfkit-Cache"]) == ("miss", "hit")
    assert view(rf.get("/p/?b=2&a=1"), pk=1).content == b"page 1 2"  # another query string
    assert view(rf.get("/p/?a=1&b=2"), pk=1).content == b"page 1 2"  # same, reordered
    assert view(rf.head("/p/"), pk=1).content == b"page 1 1"  # HEAD served from GET
    assert len(calls) == 2


def test_no_debug_header_outside_debug(db):
    view, _ = counted()
    assert not view(rf.get("/p/")).has_header("X-Perfkit-Cache")


def test_unsafe_methods_and_statuses_are_not_cached(db):
    calls = []

    @cached_view(60)
    def view(request):
        calls.append(1)
        return HttpResponse("x", status=int(request.GET.get("status", 200)))

    view(rf.post("/p/")), view(rf.post("/p/"))
    view(rf.get("/p/?status=404")), view(rf.get("/p/?status=404"))
    view(rf.head("/h/")), view(rf.head("/h/"))
    assert len(calls) == 6


@pytest.mark.parametrize(
    "spoil",
    [
        lambda r: r.set_cookie("c", "1"),
        lambda r: r.__setitem__("Cache-Control", "private, max-age=60"),
        lambda r: r.__setitem__("Cache-Control", "no-store"),
        lambda r: r.__setitem__("Vary", "Accept-Language"),
    ],
    ids=["set-cookie", "private", "no-store", "vary"],
)
def test_unsafe_responses_are_not_cached(db, spoil):
    calls = []

    @cached_view(60)
    def view(request):
        calls.append(1)
        response = HttpResponse("x")
        spoil(response)
        return response

    view(rf.get("/p/")), view(rf.get("/p/"))
    assert len(calls) == 2


def test_vary_on_keys_by_the_header(db):
    calls = []

    @cached_view(60, vary_on=["Accept-Language"])
    def view(request):
        calls.append(1)
        response = HttpResponse(request.headers.get("Accept-Language", "-"))
        response["Vary"] = "Accept-Language"
        return response

    de = view(rf.get("/p/", headers={"Accept-Language": "de"}))
    fr = view(rf.get("/p/", headers={"Accept-Language": "fr"}))
    again = view(rf.get("/p/", headers={"Accept-Language": "de"}))
    assert (de.content, fr.content, again.content) == (b"de", b"fr", b"de")
    assert len(calls) == 2


def test_sessions_and_authenticated_users_bypass_unless_per_user(db, settings):
    user = User.objects.create_user("u1")
    view, calls = counted()
    logged_in = rf.get("/p/")
    logged_in.COOKIES[settings.SESSION_COOKIE_NAME] = "abc"
    logged_in.user = user
    view(logged_in), view(logged_in)
    token = rf.get("/p/", headers={"Authorization": "Bearer t"})
    view(token), view(token)
    assert len(calls) == 4

    per_user, per_calls = counted(per_user=True)
    for who in (user, User.objects.create_user("u2"), user):
        request = rf.get("/p/")
        request.COOKIES[settings.SESSION_COOKIE_NAME] = f"s-{who.pk}"
        request.user = who
        per_user(request)
    assert len(per_calls) == 2


def test_response_rendered_for_an_authenticated_user_is_not_stored(db):
    user = User.objects.create_user("u3")

    @cached_view(60)
    def view(request):
        calls.append(request.user.is_authenticated)
        return HttpResponse("hello")

    calls = []
    request = rf.get("/p/")
    request.user = user  # e.g. remote-user auth: no session cookie, still a user
    view(request), view(request)
    anonymous = rf.get("/p/")
    anonymous.user = AnonymousUser()
    view(anonymous), view(anonymous)
    assert calls == [True, True, False]


def test_depends_on_invalidates_views(db):
    calls = []

    @cached_view(60, depends_on=[Author])
    def authors(request):
        calls.append(1)
        return JsonResponse({"n": Author.objects.count()})

    assert authors(rf.get("/a/")).content == b'{"n": 0}'
    Author.objects.create(name="A")
    assert authors(rf.get("/a/")).content == b'{"n": 1}'
    assert authors(rf.get("/a/")).content == b'{"n": 1}'
    assert len(calls) == 2


class Hello(CachedViewMixin, View):
    cache_timeout = 60
    calls = 0

    def get(self, request):
        Hello.calls += 1
        return HttpResponse("hello")


@cached_view(60)
class Decorated(View):
    calls = 0

    def get(self, request):
        Decorated.calls += 1
        return HttpResponse("decorated")


def test_class_based_views(db):
    view = Hello.as_view()
    assert view(rf.get("/h/")).content == view(rf.get("/h/")).content == b"hello"
    assert Hello.calls == 1
    other = Decorated.as_view()
    assert other(rf.get("/h/")).content == other(rf.get("/h/")).content == b"decorated"
    assert Decorated.calls == 1
    assert view.perfkit_cached.perfkit_name != other.perfkit_cached.perfkit_name


def test_template_responses_are_rendered_before_storing(db):
    from django.template import engines
    from django.template.response import TemplateResponse

    template = engines["django"].from_string("<p>{{ n }}</p>")

    @cached_view(60)
    def page(request):
        return TemplateResponse(request, template, {"n": 3})

    assert page(rf.get("/t/")).content == b"<p>3</p>"
    assert page(rf.get("/t/")).content == b"<p>3</p>"


def test_query_allow_list_keys_on_listed_parameters_and_bypasses_others(db):
    calls = []

    @cached_view(None, query=["page"])
    def listing(request):
        calls.append(request.GET.urlencode())
        return HttpResponse(f"page {request.GET.get('page', '1')}")

    assert listing(rf.get("/l/?page=2")).content == b"page 2"
    assert listing(rf.get("/l/?page=2")).content == b"page 2"
    assert listing(rf.get("/l/")).content == b"page 1"
    # a parameter outside query= is neither served from nor stored in the cache
    for token in ("a", "b", "a"):
        assert listing(rf.get(f"/l/?page=2&x={token}")).content == b"page 2"
    assert calls == ["page=2", "", "page=2&x=a", "page=2&x=b", "page=2&x=a"]


def test_unbounded_view_warns_at_decoration_and_is_reported_by_w102(db):
    from perfkit.cache.checks import check_view_bounds

    def page(request):
        return HttpResponse("x")

    with pytest.warns(RuntimeWarning, match=r"timeout=None and no query=.*query=\['page'"):
        unbounded = cached_view(None)(page)
    bounded = cached_view(None, query=[])(lambda request: HttpResponse("y"))
    finite = cached_view(60)(lambda request: HttpResponse("z"))
    found = [m for m in check_view_bounds() if m.id == "perfkit.W102"]
    assert [m.msg.split()[1] for m in found] == [unbounded.perfkit_cached.perfkit_name]
    assert "query=[" in found[0].hint
    assert "finite timeout" in found[0].hint
    names = {bounded.perfkit_cached.perfkit_name, finite.perfkit_cached.perfkit_name}
    assert not any(name in m.msg for m in found for name in names)


def test_vary_on_and_query_take_lists_not_strings():
    with pytest.raises(TypeError, match=r"vary_on=\['Accept'\]"):
        cached_view(60, vary_on="Accept")
    with pytest.raises(TypeError, match=r"query=\['page'\]"):
        cached_view(60, query="page")


def _same_named_views():
    """Two class-based views called ``Page`` in two modules, one per way of caching them."""

    def get_one(self, request):
        return HttpResponse("one")

    def get_two(self, request):
        return HttpResponse("two")

    one = type("Page", (View,), {"__module__": "tests.cache.app_one", "get": get_one})
    two = type("Page", (View,), {"__module__": "tests.cache.app_two", "get": get_two})
    mixed = type(
        "Page", (CachedViewMixin, View), {"__module__": "tests.cache.app_three", "get": get_one}
    )
    return cached_view(60)(one), cached_view(60)(two), mixed


def test_class_based_views_take_every_option(db):
    class Listing(CachedViewMixin, View):
        cache_timeout = None
        cache_query = ("page",)
        calls = 0

        def get(self, request):
            Listing.calls += 1
            return HttpResponse(request.GET.get("page", "1"))

    view = Listing.as_view()
    for url in ("/l/?page=2", "/l/?page=2", "/l/?page=2&x=1"):
        assert view(rf.get(url)).content == b"2"
    assert Listing.calls == 2
    decorated = cached_view(None, query=["page"])(View)
    assert decorated.cache_query == ("page",)


def test_class_based_views_keep_their_module_and_qualname(db):
    one, two, mixed = _same_named_views()
    assert (one.__module__, one.__qualname__) == ("tests.cache.app_one", "Page")
    views = [one.as_view(), two.as_view(), mixed.as_view()]
    names = [view.perfkit_cached.perfkit_name for view in views]
    assert names == [
        "tests.cache.app_one.Page",
        "tests.cache.app_two.Page",
        "tests.cache.app_three.Page",
    ]
    assert [view(rf.get("/same/")).content for view in views] == [b"one", b"two", b"one"]
    assert [view(rf.get("/same/")).content for view in views] == [b"one", b"two", b"one"]


@pytest.mark.parametrize(
    ("cookies", "allowed", "cached"),
    [
        ({"_ga": "GA1.2.3"}, [], False),
        ({"_ga": "GA1.2.3"}, ["_ga"], True),
        ({"_ga_XYZ": "GA1.2.3"}, ["_ga*"], True),
        ({"csrftoken": "t" * 32, "django_language": "de"}, [], True),
        ({"messages": ""}, [], True),  # an empty (deleted) cookie carries nothing
        ({"messages": "abc"}, [], False),
    ],
)
def test_requests_with_cookies_outside_the_allow_list_bypass(
    db, settings, cookies, allowed, cached
):
    settings.PERFKIT = {**settings.PERFKIT, "VIEW_CACHE_COOKIES": allowed}
    view, calls = counted()
    for _ in range(2):
        request = rf.get("/c/")
        request.COOKIES.update(cookies)
        view(request)
    assert len(calls) == (1 if cached else 2)


def _with_messages(request):
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.db import SessionStore

    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


def test_pages_showing_or_queuing_flash_messages_are_not_stored(db):
    from django.contrib import messages

    @cached_view(60, per_user=True)
    def page(request):
        if "buy" in request.GET:
            messages.success(request, "Thanks Alice Smith, order #4711")
        return HttpResponse(" ".join(str(m) for m in messages.get_messages(request)) or "none")

    queued = _with_messages(rf.get("/m/?buy=1"))
    assert page(queued).content == b"Thanks Alice Smith, order #4711"  # shown, not stored
    assert page(_with_messages(rf.get("/m/?buy=1"))).content.startswith(b"Thanks")
    shown = _with_messages(rf.get("/m/"))
    messages.info(shown, "Welcome back")
    shown._messages.added_new = False  # as if loaded from the cookie, not queued now
    assert page(shown).content == b"Welcome back"
    assert page(_with_messages(rf.get("/m/"))).content == b"none"  # the message is not replayed
    assert page(_with_messages(rf.get("/m/"))).content == b"none"


def test_identity_after_the_view_must_match_the_key(db):
    alice = User.objects.create_user("alice-i")
    calls = []

    @cached_view(60, per_user=True)
    def page(request):
        calls.append(1)
        request.user = alice  # token or remote auth resolved inside the view
        return HttpResponse(f"hello {request.user}")

    def visit(**headers):
        request = rf.get("/i/", headers=headers)
        request.user = AnonymousUser()
        return page(request).content

    assert [visit(), visit()] == [b"hello alice-i"] * 2
    assert len(calls) == 2  # the anonymous key never holds Alice's page
    assert [visit(Authorization="Token a"), visit(Authorization="Token a")] == [
        b"hello alice-i"
    ] * 2
    assert len(calls) == 3  # keyed by the Authorization digest: only this token reaches it
    visit(Authorization="Token mallory")
    assert len(calls) == 4


def test_keys_hold_the_scheme_language_and_time_zone(db):
    from django.utils import timezone, translation

    view, calls = counted()
    view(rf.get("/k/")), view(rf.get("/k/", secure=True))
    with translation.override("de"):
        view(rf.get("/k/"))
    with timezone.override("Europe/Berlin"):
        view(rf.get("/k/"))
    view(rf.get("/k/", secure=True))
    assert len(calls) == 4


def test_raw_set_cookie_header_is_never_stored(db):
    calls = []

    @cached_view(60)
    def page(request):
        calls.append(1)
        response = HttpResponse("promo")
        response.headers["Set-Cookie"] = "promo=1; Path=/"
        return response

    page(rf.get("/s/")), page(rf.get("/s/"))
    assert len(calls) == 2


def test_async_views_are_cached_with_the_same_rules(db):
    from asgiref.sync import async_to_sync
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import AsyncRequestFactory

    arf = AsyncRequestFactory()
    calls = []

    @cached_view(60)
    async def page(request):
        calls.append(request.method)
        if "session" in request.GET:
            await request.session.aset("seen", True)
        return HttpResponse(f"async {len(calls)}")

    async def scenario():
        contents = [(await page(arf.get("/a/"))).content, (await page(arf.get("/a/"))).content]
        contents.append((await page(arf.head("/a/"))).content)
        contents.append((await page(arf.post("/a/"))).content)
        tracked = arf.get("/a/")
        tracked.COOKIES["tracking"] = "x"
        contents.append((await page(tracked)).content)
        for _ in range(2):  # a view that creates a session: never stored
            writes = arf.get("/a/?session=1")
            writes.session = SessionStore()
            contents.append((await page(writes)).content)
        return contents

    assert async_to_sync(scenario)() == [
        b"async 1",
        b"async 1",
        b"async 1",
        b"async 2",
        b"async 3",
        b"async 4",
        b"async 5",
    ]
    # a closure's name carries the line of its def (closures of one factory differ)
    assert (
        "test_async_views_are_cached_with_the_same_rules.<locals>.page@L"
        in page.perfkit_cached.perfkit_name
    )


def test_invalidate_and_key_for_take_a_request(db):
    view, calls = counted()
    view(rf.get("/p/?a=1")), view(rf.get("/p/?a=1"))
    engine = view.perfkit_cached
    assert engine.key_for(rf.get("/p/?a=1")) != engine.key_for(rf.get("/p/?a=2"))
    engine.invalidate(rf.get("/p/?a=1"))
    view(rf.get("/p/?a=1"))
    assert len(calls) == 2


def test_setting_changes_reach_the_next_request(db, settings):
    # the settings a hit reads are read once, and again after any setting change
    view, calls = counted()

    def visit(**cookies):
        request = rf.get("/s/")
        request.COOKIES.update(cookies)
        return view(request)

    assert not visit().has_header("X-Perfkit-Cache")
    settings.DEBUG = True
    assert visit()["X-Perfkit-Cache"] == "hit"
    visit(consent="yes"), visit(consent="yes")
    assert len(calls) == 3  # "consent" is not allowed yet: both bypass
    settings.PERFKIT = {**settings.PERFKIT, "VIEW_CACHE_COOKIES": ["consent", "sid"]}
    assert visit(consent="yes", sid="s1")["X-Perfkit-Cache"] == "hit"
    settings.SESSION_COOKIE_NAME = "sid"
    assert not visit(sid="s1").has_header("X-Perfkit-Cache")  # the session cookie: bypassed
    assert len(calls) == 4


def test_language_is_in_the_key_without_i18n(db, settings):
    # USE_I18N switched by override_settings does not switch Django's translation functions
    # (django.utils.translation.Trans resolves them once): the language that renders is
    # get_language(), so it is read per request whatever USE_I18N says
    from django.utils import translation

    settings.USE_I18N = False

    @cached_view(60)
    def page(request):
        return HttpResponse(f"lang={translation.get_language()}")

    with translation.override("de"):
        expected = f"lang={translation.get_language()}".encode()
        assert page(rf.get("/l/")).content == expected
    with translation.override("fr"):
        assert page(rf.get("/l/")).content == f"lang={translation.get_language()}".encode()


def test_time_zone_is_in_the_key_without_use_tz(db, settings):
    # USE_TZ = False: Django converts no datetime, but a view may still show the active zone
    from django.utils import timezone

    settings.USE_TZ = False

    @cached_view(60)
    def page(request):
        return HttpResponse(f"tz={timezone.get_current_timezone_name()}")

    with timezone.override("Europe/Berlin"):
        assert page(rf.get("/t/")).content == b"tz=Europe/Berlin"
    assert page(rf.get("/t/")).content == b"tz=Asia/Seoul"


def test_a_query_set_by_a_middleware_is_keyed_and_checked(db):
    # an empty query string is not parsed, but a request.GET replaced by a middleware counts
    from django.http import QueryDict

    calls = []

    @cached_view(60, query=["page"])
    def page(request):
        calls.append(1)
        return HttpResponse(f"page={request.GET.get('page', '1')} x={request.GET.get('x')}")

    def visit(query):
        request = rf.get("/q/")
        request.GET = QueryDict(query)
        return page(request).content

    assert [visit(""), visit(""), visit("page=2"), visit("page=2")] == [
        b"page=1 x=None",
        b"page=1 x=None",
        b"page=2 x=None",
        b"page=2 x=None",
    ]
    assert len(calls) == 2
    assert [visit("x=1"), visit("x=1")] == [b"page=1 x=1"] * 2  # not in query=: bypassed
    assert len(calls) == 4
