"""The django.db internals perfkit.internals.orm relies on still have the shape it expects."""

from __future__ import annotations

import django
import pytest
from django.db import connection
from django.db.models.sql import compiler

from perfkit.internals import orm
from tests.testapp.models import Place


def test_uninstall_restores_the_compilers_exactly_and_install_wraps_them_again():
    assert orm.installed()
    wrapped = compiler.SQLInsertCompiler.execute_sql
    orm.uninstall()
    try:
        assert not orm.installed()
        assert "execute_sql" not in compiler.SQLDeleteCompiler.__dict__  # inherited again
        assert compiler.SQLDeleteCompiler.execute_sql is compiler.SQLCompiler.execute_sql
        assert compiler.SQLInsertCompiler.execute_sql.__module__ == "django.db.models.sql.compiler"
        assert compiler.SQLUpdateCompiler.execute_sql.__module__ == "django.db.models.sql.compiler"
    finally:
        orm.install()
    assert compiler.SQLInsertCompiler.execute_sql is not wrapped  # a fresh wrapper
    assert compiler.SQLInsertCompiler.execute_sql.__module__ == "perfkit.internals.orm"
    orm.install()  # idempotent: does not wrap twice
    assert orm._originals[(compiler.SQLInsertCompiler, "execute_sql")].__module__ == (
        "django.db.models.sql.compiler"
    )


@pytest.mark.django_db
def test_the_insert_compiler_keeps_the_fields_it_asked_back(monkeypatch):
    seen = []
    original = orm._hooks

    class Spy:
        def written(self, kind, query, using, before, rows=None, returning=None):
            seen.append((kind, returning, rows))

        def prepare(self, *args):
            return None

        def orm_call(self, func, *args, **kwargs):
            return func(*args, **kwargs)

    monkeypatch.setattr(orm, "_hooks", Spy)
    Place.objects.create(name="p")
    monkeypatch.setattr(orm, "_hooks", original)
    kind, returning, rows = seen[0]
    assert kind == "insert"
    if connection.features.can_return_columns_from_insert:
        assert [f.name for f in returning] == ["id"]
        assert len(rows) == 1


@pytest.mark.django_db
def test_testcase_atomic_blocks_are_marked():
    assert connection.in_atomic_block
    assert any(orm.testcase_block(block) for block in connection.atomic_blocks)


def test_update_returning_is_wrapped_where_django_has_it():
    has_it = hasattr(compiler.SQLUpdateCompiler, "execute_returning_sql")
    if django.VERSION < (6, 0):
        assert not has_it
    if has_it:
        method = compiler.SQLUpdateCompiler.execute_returning_sql
        assert method.__module__ == "perfkit.internals.orm"


def test_a_missing_compiler_method_names_django_and_the_feature():
    from perfkit.internals import MissingInternalError

    class Compiler:  # a Django whose compiler lost the method
        pass

    with pytest.raises(MissingInternalError) as info:
        orm._patch(Compiler, "execute_sql", orm._wrap_insert)
    assert str(info.value).startswith(
        f"perfkit's ORM invalidation needs Compiler.execute_sql, which django "
        f"{django.__version__} does not have"
    )
    assert (Compiler, "execute_sql") not in orm._originals
