"""Tables: search, sort, paging and CSV export over the rows a screen's service returned.

A screen builds its rows (dicts of plain values), names its columns, and renders
`view` with the `table` macro of templates/_table.html. The query string carries the state
(`q`, `sort`, `dir`, `page`, `size`, plus the screen's own filters), so every view of a table
is a link that can be shared, reloaded and navigated without a script.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, TypeVar
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import StreamingResponse
from markupsafe import Markup

PAGE_SIZES: Final = (25, 50, 100, 200)
SERVICE_PAGE: Final = 1000
"""The most rows a service's listing gives in one call (its `count` limit)."""
DEFAULT_SIZE: Final = 50

Row = Mapping[str, Any]
Item = TypeVar("Item")


def every_page(read: Callable[[int, int], Sequence[Item]]) -> list[Item]:
    """Every item of a service's paged listing: `read(offset, count)` from offset 0, page
    after page, until a short page."""
    items: list[Item] = []
    while True:
        found = read(len(items), SERVICE_PAGE)
        items.extend(found)
        if len(found) < SERVICE_PAGE:
            return items


@dataclass(frozen=True)
class Column:
    key: str
    """The row's key: the value sorted, searched and exported."""
    label: str
    sortable: bool = True
    render: Callable[[Row], Markup | str] | None = None
    """The cell as shown (a link, a badge); the plain value when None."""
    export: bool = True
    numeric: bool = False


@dataclass
class TableView:
    path: str
    params: dict[str, str]
    columns: Sequence[Column]
    rows: Sequence[Row]
    """This page's rows."""
    matching: Sequence[Row]
    """Every row that passes the search and filters, sorted (the CSV export's rows)."""
    total: int
    page: int
    size: int
    sort: str
    descending: bool
    search: str
    id: str = "table"
    sizes: Sequence[int] = field(default=PAGE_SIZES)

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.matching) // self.size))

    @property
    def first(self) -> int:
        return 0 if not self.matching else (self.page - 1) * self.size + 1

    @property
    def last(self) -> int:
        return min(self.page * self.size, len(self.matching))

    @property
    def wants_csv(self) -> bool:
        return self.params.get("export") == "csv"

    def url(self, **changes: str | int | None) -> str:
        params = {k: v for k, v in self.params.items() if k != "export"}
        for key, value in changes.items():
            if value is None or value == "":
                params.pop(key, None)
            else:
                params[key] = str(value)
        return f"{self.path}?{urlencode(params)}" if params else self.path

    def sort_url(self, column: Column) -> str:
        descending = not self.descending if column.key == self.sort else False
        return self.url(sort=column.key, dir="desc" if descending else "asc", page=None)

    def aria_sort(self, column: Column) -> str:
        if column.key != self.sort:
            return "none"
        return "descending" if self.descending else "ascending"

    def hidden_params(self, *own: str) -> list[tuple[str, str]]:
        """The query's other parameters, for a form that changes only `own`."""
        skip = {"page", "export", *own}
        return [(k, v) for k, v in self.params.items() if k not in skip]

    @staticmethod
    def cell(row: Row, column: Column) -> Markup | str:
        if column.render is not None:
            return column.render(row)
        return _plain(row.get(column.key))

    def csv_response(self, filename: str) -> StreamingResponse:
        columns = [c for c in self.columns if c.export]

        def lines() -> Iterator[str]:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow([c.label for c in columns])
            for row in self.matching:
                writer.writerow([_csv_value(row.get(c.key)) for c in columns])
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
            yield buffer.getvalue()

        return StreamingResponse(
            lines(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
        )


def table_view(
    request: Request,
    rows: Sequence[Row],
    columns: Sequence[Column],
    *,
    default_sort: str,
    default_descending: bool = False,
    id: str = "table",
) -> TableView:
    """The view the query string asks for: rows searched (`q`), sorted, one page cut."""
    params = dict(request.query_params)
    search = params.get("q", "").strip()
    keys = {c.key for c in columns if c.sortable}
    sort = params.get("sort", default_sort)
    if sort not in keys:
        sort = default_sort
    descending = params.get("dir", "desc" if default_descending else "asc") == "desc"
    matching = [row for row in rows if _matches(row, columns, search)] if search else list(rows)
    matching.sort(key=lambda row: _sort_key(row.get(sort)), reverse=descending)
    size = _int(params.get("size"), DEFAULT_SIZE)
    if size not in PAGE_SIZES:
        size = DEFAULT_SIZE
    pages = max(1, -(-len(matching) // size))
    page = min(max(1, _int(params.get("page"), 1)), pages)
    start = (page - 1) * size
    return TableView(
        path=request.url.path,
        params=params,
        columns=columns,
        rows=matching[start : start + size],
        matching=matching,
        total=len(rows),
        page=page,
        size=size,
        sort=sort,
        descending=descending,
        search=search,
        id=id,
    )


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default


def _matches(row: Row, columns: Sequence[Column], search: str) -> bool:
    needle = search.lower()
    return any(needle in _plain(row.get(c.key)).lower() for c in columns)


def _sort_key(value: Any) -> tuple[int, Any]:
    """Empty values last in ascending order; numbers as numbers; the rest as text."""
    if value is None or value == "":
        return (2, "")
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, datetime):
        return (1, value.isoformat())
    return (1, str(getattr(value, "value", value)).lower())


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(getattr(value, "value", value))


def _csv_value(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    text = value.isoformat() if isinstance(value, datetime) else _plain(value)
    # A cell starting with = + - @ runs as a formula in spreadsheets: quote it.
    if text[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return "'" + text
    return text
