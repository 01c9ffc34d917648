"""A Core statement compiled once for one dialect, run on the bare driver connection.

The robot path's hottest statements are written once, as SQLAlchemy Core (so the SQL and its
types live in one place and the session path shares them), but executing them through a
Connection costs more Python than the statement itself: compile-cache lookup, parameter
processing set-up, result metadata, row objects. A PreparedStatement does that set-up once:
the SQL text in the driver's parameter style, each bound parameter's conversion (the same
bind processors SQLAlchemy would apply: UTC timestamps, JSON, SQLite's text timestamps) and
each result column's conversion. Running it is then a driver `execute` and a loop over the
values, on a DB-API connection (`run`) or an asyncpg connection (`run_async`).

On asyncpg the SQL goes with PostgreSQL's own `$1` placeholders, converted once per form; the
values are those the psycopg dialect's bind processors give (its casts are in the SQL, so the
server names each parameter's type), and JSON goes through the codec db.driver_pool sets.

An expanding parameter (`IN` over a list given at run time) is rendered per list length, once
each; literal lists (`status IN (1, 2)`) are rendered at preparation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any]
_CONSTANT = -2
_VALUE = -1
_PYFORMAT = re.compile(r"%\((?P<name>[^)]+)\)s|%%")


class DBAPICursor(Protocol):
    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...
    def fetchall(self) -> Sequence[Sequence[Any]]: ...
    def close(self) -> Any: ...


class DBAPIConnection(Protocol):
    def cursor(self) -> Any: ...


@dataclass(frozen=True)
class _Form:
    """The statement rendered for one set of expanding-list lengths."""

    sql: str
    plan: tuple[tuple[str, str, int, Processor | None, Any], ...]
    """(driver name, source name, list index or _VALUE/_CONSTANT, processor, constant)."""
    positional: bool
    numbered: str
    """The SQL with `$n` placeholders, numbered in the plan's order (pyformat dialects)."""


def numbered_placeholders(sql: str) -> tuple[str, list[str]]:
    """`%(name)s` placeholders as `$n` (a name used twice keeps its number) and `%%` as `%`;
    the names in number order."""
    names: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        name = match["name"]
        if name is None:
            return "%"
        return f"${names.setdefault(name, len(names) + 1)}"

    return _PYFORMAT.sub(number, sql), list(names)


class PreparedStatement:
    def __init__(
        self, statement: ClauseElement, dialect: Dialect, *, server_prepared: bool = True
    ) -> None:
        # Not server-prepared: planned anew for each run's values (a custom plan), never by
        # the generic plan PostgreSQL switches a prepared statement to after five runs.
        self.server_prepared = server_prepared
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self._compiled = compiled
        self._positional = bool(dialect.positional)
        self._expanding = tuple(
            sorted(bind.key for bind in compiled.post_compile_params if bind.required)
        )
        self._required = frozenset(b.key for b in compiled.binds.values() if b.required)
        processors = [
            entry.type._cached_result_processor(dialect, None)  # SQLAlchemy's own conversions
            for entry in compiled._result_columns
        ]
        self._results: tuple[tuple[int, Processor], ...] = tuple(
            (index, processor) for index, processor in enumerate(processors) if processor
        )
        self.width = len(processors)
        self._forms: dict[tuple[int, ...], _Form] = {}
        if not self._expanding:
            self._forms[()] = self._render(())

    def _render(self, lengths: tuple[int, ...]) -> _Form:
        sample: dict[str, Any] = {name: None for name in self._required}
        for name, length in zip(self._expanding, lengths, strict=True):
            sample[name] = [None] * length
        expanded = self._compiled.construct_expanded_state(sample)
        sources: dict[str, tuple[str, int]] = {}
        for name, names in expanded.parameter_expansion.items():
            if name not in self._expanding:
                continue  # a literal list (`status IN (1, 2)`): its values are constants
            for index, expanded_name in enumerate(names):
                sources[expanded_name] = (name, index)
        order = expanded.positiontup if self._positional else list(expanded.parameters)
        assert order is not None
        # Expanded names have their processors in the expansion, the others in the compiled.
        processors = cast(
            dict[str, Processor], {**self._compiled._bind_processors, **expanded.processors}
        )
        plan: list[tuple[str, str, int, Processor | None, Any]] = []
        for name in order:
            processor = processors.get(name)
            if name in sources:
                source, index = sources[name]
                plan.append((name, source, index, processor, None))
            elif name in self._required:
                plan.append((name, name, _VALUE, processor, None))
            else:  # a literal of the statement: converted once, here
                value = expanded.parameters[name]
                constant = processor(value) if processor else value
                plan.append((name, name, _CONSTANT, None, constant))
        if self._positional:
            return _Form(expanded.statement, tuple(plan), True, "")
        numbered, names = numbered_placeholders(expanded.statement)
        by_name = {entry[0]: entry for entry in plan}
        assert set(names) == set(by_name), "every bound value appears in the SQL"
        ordered = tuple(by_name[name] for name in names)  # the dict form ignores the order
        return _Form(expanded.statement, ordered, False, numbered)

    def _form(self, values: Mapping[str, Any]) -> _Form:
        lengths = tuple(len(values[name]) for name in self._expanding)
        form = self._forms.get(lengths)
        if form is None:
            form = self._forms[lengths] = self._render(lengths)
        return form

    def bound(self, values: Mapping[str, Any]) -> tuple[str, Any]:
        """The SQL text and the driver's parameters for `values` (keyed by bind name)."""
        form = self._form(values)
        converted = self._converted(form, values)
        if form.positional:
            return form.sql, tuple(value for _, value in converted)
        return form.sql, dict(converted)

    @staticmethod
    def _converted(form: _Form, values: Mapping[str, Any]) -> list[tuple[str, Any]]:
        converted: list[tuple[str, Any]] = []
        for name, source, index, processor, constant in form.plan:
            if index == _CONSTANT:
                converted.append((name, constant))
                continue
            value = values[source] if index == _VALUE else values[source][index]
            if processor is not None:  # None too: JSON's None may be `null` (as SQLAlchemy)
                value = processor(value)
            converted.append((name, value))
        return converted

    def rows(self, fetched: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
        """The fetched rows with each column converted as SQLAlchemy would return it."""
        if not self._results:
            return [tuple(row) for row in fetched]
        out = []
        for row in fetched:
            values = list(row)
            for index, processor in self._results:
                values[index] = processor(values[index])
            out.append(tuple(values))
        return out

    def run(self, connection: DBAPIConnection, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Execute on a DB-API connection (the caller owns its transaction) and fetch."""
        sql, parameters = self.bound(values)
        cursor = connection.cursor()
        try:
            cursor.execute(sql, parameters)
            fetched = cursor.fetchall() if cursor.description is not None else []
        finally:
            cursor.close()
        return self.rows(fetched)

    def run_no_rows(self, connection: DBAPIConnection, values: Mapping[str, Any]) -> int:
        """Execute a statement that returns no rows; the row count."""
        sql, parameters = self.bound(values)
        cursor = connection.cursor()
        try:
            cursor.execute(sql, parameters)
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def run_many(self, connection: DBAPIConnection, values: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per set of `values` (one driver executemany): a statement with no
        expanding parameter that returns no rows, such as an INSERT of history entries."""
        assert not self._expanding, "run_many needs one SQL text for every set of values"
        if not values:
            return
        bound = [self.bound(each) for each in values]
        cursor = connection.cursor()
        try:
            cursor.executemany(bound[0][0], [parameters for _, parameters in bound])
        finally:
            cursor.close()

    async def run_async(self, connection: Any, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Execute on an asyncpg connection (db.driver_pool), as a prepared statement it keeps,
        unless made otherwise: then prepared afresh each run, so planned for its values."""
        form = self._form(values)
        parameters = [value for _, value in self._converted(form, values)]
        if self.server_prepared:
            fetched = await connection.fetch(form.numbered, *parameters)
        else:
            once = await connection.prepare(form.numbered)
            fetched = await once.fetch(*parameters)
        return self.rows(fetched) if self.width else []
