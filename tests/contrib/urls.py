from __future__ import annotations

from debug_toolbar.toolbar import debug_toolbar_urls
from django.http import HttpRequest
from django.urls import include, path

from tests.contrib import views

urlpatterns = [
    path("signals/", views.signalling_view),
    path("", include("demo_project.bookstore.urls")),
    *debug_toolbar_urls(),
]


def show_toolbar(request: HttpRequest) -> bool:
    return True
