from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

MIDDLEWARE = ["perfkit.middleware.QueryCountMiddleware"]


@pytest.fixture
def with_middleware(settings):
    settings.MIDDLEWARE = [*MIDDLEWARE, *settings.MIDDLEWARE]
    return settings


def test_headers_and_nplusone_log_in_debug(with_middleware, bookstore, caplog):
    with_middleware.DEBUG = True
    with caplog.at_level(logging.INFO, logger="perfkit.middleware"):
        response = Client().get("/books/naive/?size=5")
    assert response.status_code == 200
    # 1 page + 5 x (tags, review count, author, publisher)
    assert response["X-Perfkit-Queries"] == "21"
    assert response["X-Perfkit-Duplicates"] == "0"
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    lines = record.getMessage().splitlines()
    assert lines[0].startswith("GET /books/naive/: 21 queries, 0 duplicates, 4 N+1 groups in ")
    assert any(
        line.startswith(
            "  5x `SELECT ... FROM bookstore_author WHERE bookstore_author.id = ? LIMIT ?` "
            "[default] loading Book.author, from demo_project/bookstore/services.py:29 in "
            "_book_row <- "
        )
        for line in lines
    )


def test_optimised_page_logs_info_only(with_middleware, bookstore, caplog):
    with_middleware.DEBUG = True
    with caplog.at_level(logging.INFO, logger="perfkit.middleware"):
        response = Client().get("/books/?size=5")
    assert response["X-Perfkit-Queries"] == "2"
    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert record.getMessage().startswith("GET /books/: 2 queries, 0 duplicates, 0 N+1 groups in ")


def test_async_handler(with_middleware, bookstore):
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    with_middleware.DEBUG = True
    response = async_to_sync(AsyncClient().get)("/books/naive/?size=5")
    assert response.status_code == 200
    assert response["X-Perfkit-Queries"] == "21"


def test_on_without_debug_logs_but_adds_no_headers(with_middleware, bookstore, caplog):
    with_middleware.PERFKIT = {"QUERY_COUNT_MIDDLEWARE": True}
    with caplog.at_level(logging.INFO, logger="perfkit.middleware"):
        response = Client().get("/books/?size=5")
    assert "X-Perfkit-Queries" not in response
    assert len(caplog.records) == 1


def test_off_means_not_in_the_chain(with_middleware, bookstore, caplog):
    from django.core.exceptions import MiddlewareNotUsed

    from perfkit.middleware import QueryCountMiddleware

    with_middleware.DEBUG = True
    with_middleware.PERFKIT = {"QUERY_COUNT_MIDDLEWARE": False}
    with pytest.raises(MiddlewareNotUsed):
        QueryCountMiddleware(lambda request: None)
    with caplog.at_level(logging.DEBUG, logger="perfkit.middleware"):
        response = Client().get("/books/?size=5")
    assert "X-Perfkit-Queries" not in response
    assert caplog.records == []
    with_middleware.PERFKIT = {}
    with_middleware.DEBUG = False  # None follows DEBUG
    with pytest.raises(MiddlewareNotUsed):
        QueryCountMiddleware(lambda request: None)


def test_duplicates_header_counts_repeats(with_middleware, bookstore, settings):
    from django.http import HttpResponse
    from django.test import RequestFactory

    from demo_project.bookstore.models import Author
    from perfkit.middleware import QueryCountMiddleware

    settings.DEBUG = True

    def view(request):
        for _ in range(3):
            Author.objects.count()
        return HttpResponse("ok")

    request = RequestFactory().get("/x")
    response = QueryCountMiddleware(view)(request)
    assert response["X-Perfkit-Queries"] == "3"
    assert response["X-Perfkit-Duplicates"] == "2"


def test_log_names_the_path_never_the_query_string(with_middleware, bookstore, caplog):
    # query strings carry secrets (password-reset tokens, API keys): they stay out of the logs
    with_middleware.DEBUG = True
    with caplog.at_level(logging.INFO, logger="perfkit.middleware"):
        Client().get("/books/?size=5&token=s3cr3t-reset-token")
    [record] = caplog.records
    assert record.getMessage().startswith("GET /books/: 2 queries")
    assert "s3cr3t" not in record.getMessage()


def test_production_code_imports_no_test_code():
    # the middleware and the toolbar panel at work load neither perfkit.testing nor perfkit.bench
    code = """
import sys
import django
django.setup()
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from perfkit.contrib.debug_toolbar import _query_stats
from perfkit.instrument.queries import capture_queries
from perfkit.middleware import QueryCountMiddleware

def view(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok")

with override_settings(DEBUG=True):
    QueryCountMiddleware(view)(RequestFactory().get("/x"))
with capture_queries() as log:
    view(None)
    view(None)
_query_stats(log, 2)
print(sorted(m for m in sys.modules if m.startswith(("perfkit.testing", "perfkit.bench"))))
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        env={"DJANGO_SETTINGS_MODULE": "tests.contrib.settings", "PATH": ""},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
