from __future__ import annotations

import pytest

from perfkit.instrument.sql import fingerprint, shorten


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            'SELECT "a"."id" FROM "a" WHERE "a"."id" IN (%s, %s, %s) LIMIT 21',
            "SELECT a.id FROM a WHERE a.id IN (...) LIMIT ?",
        ),
        ("SELECT x FROM t WHERE x IN (1)", "SELECT x FROM t WHERE x IN (...)"),
        ("SELECT x FROM t WHERE x IN ( 1,2 ,3 )", "SELECT x FROM t WHERE x IN (...)"),
        (
            "SELECT COUNT(*) FROM t WHERE name = 'O''Brien' AND y=-3.5e2",
            "SELECT COUNT(*) FROM t WHERE name = ? AND y=?",
        ),
        ("SELECT  x\n\tFROM   t -- why\n WHERE x = 5", "SELECT x FROM t WHERE x = ?"),
        ("SELECT x /* hint */ FROM t", "SELECT x FROM t"),
        (
            "INSERT INTO t (a, b) VALUES (%s, %s), (%s, %s), (%s, DEFAULT) RETURNING t.id",
            "INSERT INTO t (a, b) VALUES (...) RETURNING t.id",
        ),
        (
            "SELECT * FROM t WHERE a = $1 AND b = :name AND c = ? AND d = %(x)s AND e = E'x'",
            "SELECT * FROM t WHERE a = ? AND b = ? AND c = ? AND d = ? AND e = ?",
        ),
        ("SELECT `t`.`a`, [t].[b] FROM `t`", "SELECT t.a, t.b FROM t"),
        ('SAVEPOINT "s140234_x12"', "SAVEPOINT ?"),
        ("SELECT t1.col2, x::text FROM t1", "SELECT t1.col2, x::text FROM t1"),
        ("SELECT $$a 'b' c$$", "SELECT ?"),
    ],
)
def test_fingerprint(sql, expected):
    assert fingerprint(sql) == expected


def test_in_lists_of_any_length_give_one_fingerprint():
    shapes = {
        fingerprint(f"SELECT 1 FROM t WHERE id IN ({', '.join(['%s'] * n)})") for n in (1, 7)
    }
    assert shapes == {"SELECT ? FROM t WHERE id IN (...)"}


def test_sqlite_and_postgresql_quoting_give_the_same_fingerprint():
    sqlite = 'SELECT "bookstore_book"."id" FROM "bookstore_book" WHERE "bookstore_book"."id" = %s'
    mysql = "SELECT `bookstore_book`.`id` FROM `bookstore_book` WHERE `bookstore_book`.`id` = 3"
    assert (
        fingerprint(sqlite)
        == fingerprint(mysql)
        == ("SELECT bookstore_book.id FROM bookstore_book WHERE bookstore_book.id = ?")
    )


def test_shorten_keeps_both_ends():
    sql = "SELECT " + ", ".join(f"c{i}" for i in range(100)) + " FROM t WHERE x = 1"
    short = shorten(sql, 60)
    assert len(short) == 60
    assert short.startswith("SELECT c0, c1")
    assert short.endswith("FROM t WHERE x = 1")
    assert " ... " in short
    assert shorten("SELECT  1\n", 60) == "SELECT 1"


def test_perfkit_sql_stays_the_public_path():
    import perfkit.sql

    assert perfkit.sql.fingerprint is fingerprint
    assert perfkit.sql.shorten is shorten
