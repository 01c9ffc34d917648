"""The `$n` form of a statement's SQL the driver pool sends (db.prepared)."""

from __future__ import annotations

from robofleet.server.db.prepared import numbered_placeholders


def test_each_name_gets_one_number_in_order_of_first_use() -> None:
    sql, names = numbered_placeholders(
        "SELECT %(b)s, %(a)s FROM t WHERE x = %(b)s AND y IN (%(c_1)s, %(c_2)s)"
    )
    assert sql == "SELECT $1, $2 FROM t WHERE x = $1 AND y IN ($3, $4)"
    assert names == ["b", "a", "c_1", "c_2"]


def test_an_escaped_percent_becomes_one_percent() -> None:
    sql, names = numbered_placeholders("SELECT '50%%', %(p)s LIKE 'a%%'")
    assert sql == "SELECT '50%', $1 LIKE 'a%'"
    assert names == ["p"]


def test_sql_with_no_placeholder_is_unchanged() -> None:
    assert numbered_placeholders("SELECT 1") == ("SELECT 1", [])
