from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from demo_project.bookstore.models import Author
from perfkit.exceptions import ImproperlyConfiguredError
from perfkit.instrument.checks import check_nplusone_allow
from perfkit.testing import assert_no_nplusone


def test_e401_bad_allow_regex(settings):
    settings.PERFKIT = {"NPLUSONE_ALLOW": ["FROM shop_author", "shop_(author"]}
    [error] = check_nplusone_allow()
    assert error.id == "perfkit.E401"
    assert error.msg == (
        "PERFKIT['NPLUSONE_ALLOW'] holds 'shop_(author', which is not a regular expression "
        "(missing ), unterminated subpattern at position 5)."
    )
    assert error.hint.startswith("Write a relation, 'shop.Author.books' (fnmatch wildcards")
    with pytest.raises(SystemCheckError, match=r"perfkit\.E401"):
        call_command("check")


def test_e401_silent_on_good_settings(settings):
    settings.PERFKIT = {"NPLUSONE_ALLOW": [r"shop/views\.py", "bookstore.Book.author"]}
    assert check_nplusone_allow() == []
    settings.PERFKIT = {"NPLUSONE_ALLOW": ["bookstore.[AB]*", "bookstore.Author.b?oks"]}
    assert check_nplusone_allow() == []
    settings.PERFKIT = {}
    assert check_nplusone_allow() == []


@pytest.mark.django_db
def test_bad_allow_regex_at_run_time_names_the_setting(settings):
    settings.PERFKIT = {"NPLUSONE_ALLOW": ["("]}
    with pytest.raises(ImproperlyConfiguredError) as info, assert_no_nplusone():  # noqa: PT012
        for pk in (1, 2):
            Author.objects.filter(pk=pk).count()
    assert str(info.value) == (
        "PERFKIT['NPLUSONE_ALLOW'] holds '(', which is neither a relation "
        "('app_label.Model.field') nor a regular expression (missing ), unterminated "
        "subpattern at position 0); fix or remove it."
    )
