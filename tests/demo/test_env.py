from __future__ import annotations

import pytest

from demo_project.env import database_from_url


def test_postgres_url():
    config = database_from_url("postgres://bob:s%40cret@db.local:5433/shop?sslmode=require")
    assert config == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "shop",
        "USER": "bob",
        "PASSWORD": "s@cret",
        "HOST": "db.local",
        "PORT": "5433",
        "OPTIONS": {"sslmode": "require"},
    }


def test_sqlite_paths():
    assert database_from_url("sqlite:////tmp/x.db")["NAME"] == "/tmp/x.db"
    assert database_from_url("sqlite:///x.db")["NAME"] == "x.db"
    assert database_from_url("sqlite://")["NAME"] == ":memory:"


def test_unknown_scheme_is_named():
    with pytest.raises(ValueError, match=r"DATABASE_URL has the scheme 'mysql'"):
        database_from_url("mysql://root@localhost/x")
