"""`+column` on SQLite: a column its planner must not choose an index for.

Without statistics (we run no ANALYZE on SQLite) the planner takes `account_id = ?` on
ix_tasks_account_name for a handful of rows, when it is every task of the account. It then
walked the account's tasks instead of seeking a batch's GUIDs (a finish of 50 cost 105 us a
task against 6.5 with the GUID index) and scanned the whole table through that index for the
timers' `DISTINCT account_id` instead of reading their partial indexes. SQLite's documented
way to keep a term off an index is the unary `+`; other stores get the column unchanged
(PostgreSQL plans from statistics, and its generic plans still need the account's index).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class unindexed(FunctionElement[Any]):  # noqa: N801 - an SQL construct, named as one
    """The column, unusable by SQLite's planner as an index key."""

    inherit_cache = True
    name = "unindexed"

    def __init__(self, column: ColumnElement[Any]) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(unindexed)
def _plain(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(unindexed, "sqlite")
def _sqlite(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.clauses, **kw)
