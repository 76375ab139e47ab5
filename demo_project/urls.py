"""URLs of the perfkit demo."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("", include("demo_project.bookstore.urls")),
]


def show_toolbar(request: HttpRequest) -> bool:
    """Show django-debug-toolbar in DEBUG, except for perfkit_bench's own requests."""
    return settings.DEBUG and not request.META.get("HTTP_X_PERFKIT_BENCH")


if getattr(settings, "ENABLE_TOOLBAR", False):
    from debug_toolbar.toolbar import debug_toolbar_urls

    urlpatterns += debug_toolbar_urls()
