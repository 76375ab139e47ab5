"""PerfkitPanel rendered in real requests through DebugToolbarMiddleware.

Run by test_debug_toolbar.py in a subprocess with ``--ds tests.contrib.settings`` (the toolbar
app must not be loaded into the main test process); not collected by the main run.
"""

from __future__ import annotations

import pytest
from django.test import Client

from perfkit import signals


def panel_html(path: str) -> str:
    html = Client().get(path).content.decode()
    start = html.index('id="PerfkitPanel"')
    return html[start : html.index("</div>", html.index("<h4>Duplicate queries</h4>", start))]


def panel_stats(path: str) -> dict:
    from debug_toolbar.toolbar import DebugToolbar

    response = Client().get(path)
    toolbar = DebugToolbar.fetch(response.context["toolbar"].request_id)
    return toolbar.get_panel_by_id("PerfkitPanel").get_stats()


@pytest.mark.django_db
def test_naive_page_shows_its_nplusone_groups(bookstore):
    html = panel_html("/books/naive/?size=5")
    assert "<h4>N+1 query groups</h4>" in html
    assert "<td>5x</td>" in html
    assert "<code>demo_project/bookstore/services.py:29 in _book_row</code>" in html
    assert "No @cached or @cached_view call in this request." in html
    stats = panel_stats("/books/naive/?size=5")
    assert stats["query_count"] == 1 + 4 * 5
    assert len(stats["nplusone"]) == 4
    author = next(g for g in stats["nplusone"] if "FROM bookstore_author" in g["fingerprint"])
    assert author == {
        "fingerprint": author["fingerprint"],
        "count": 5,
        "locations": ["demo_project/bookstore/services.py:29 in _book_row"],
    }


@pytest.mark.django_db
def test_optimised_page_has_no_groups(bookstore):
    stats = panel_stats("/books/?size=5")
    assert (stats["query_count"], stats["nplusone"], stats["duplicates"]) == (2, [], [])
    assert "No query shape repeated from one place." in panel_html("/books/?size=5")


@pytest.mark.django_db
def test_cache_calls_and_invalidations():
    receivers = len(signals.cache_hit.receivers)
    stats = panel_stats("/signals/")
    assert stats["counts"] == {"hit": 1, "miss": 1, "stale": 1, "error": 1}
    assert stats["calls"][0] == {
        "function": "shop.views.cached_thing",
        "outcome": "miss",
        "key": "pk:c:1",
        "cache": "default",
        "dependencies": ["pk:g:bookstore.book"],
        "age_ms": None,
        "compute_ms": 12.3,
        "error": "",
        "operation": "",
    }
    assert [c["outcome"] for c in stats["calls"]] == ["miss", "hit", "stale", "error"]
    assert stats["calls"][1]["age_ms"] == 2500.0
    assert stats["calls"][3]["error"] == "ConnectionError: down"
    assert stats["invalidations"] == [
        {"targets": ["bookstore.book:42"], "keys": ["pk:g:bookstore.book:42"]}
    ]
    html = panel_html("/signals/")
    assert '<tr class="perfkit-miss">' in html
    assert "computed in 12.3 ms" in html
    assert "2500.0 ms old" in html
    assert "error: get ConnectionError: down" in html
    assert "<code>bookstore.book:42</code>" in html
    # the receivers are gone once the request is over
    assert len(signals.cache_hit.receivers) == receivers


@pytest.mark.django_db
def test_nav_subtitle():
    from debug_toolbar.toolbar import DebugToolbar

    response = Client().get("/signals/")
    toolbar = DebugToolbar.fetch(response.context["toolbar"].request_id)
    assert toolbar.get_panel_by_id("PerfkitPanel").nav_subtitle == "1 hit, 1 miss, 1 stale"
