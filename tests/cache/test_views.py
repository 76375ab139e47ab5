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
