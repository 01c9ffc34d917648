"""The web tables' rules: search, sort, paging and CSV export from the query string."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from starlette.requests import Request

from robofleet.server.web.tables import Column, table_view

ROWS: list[Mapping[str, Any]] = [
    {"name": f"robot-{i:03d}", "status": "Ready" if i % 3 else "Working", "jobs": i % 7}
    for i in range(1, 121)
]
COLUMNS = [Column("name", "Name"), Column("status", "Status"), Column("jobs", "Jobs")]


def request(query: str) -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/robots",
            "query_string": query.encode(),
            "headers": [],
        }
    )


def test_the_first_page_holds_the_default_size_in_the_default_order() -> None:
    view = table_view(request(""), ROWS, COLUMNS, default_sort="name")
    assert view.size == 50
    assert [r["name"] for r in view.rows][:2] == ["robot-001", "robot-002"]
    assert (view.first, view.last, view.pages) == (1, 50, 3)


def test_search_sort_and_page_come_from_the_query_string() -> None:
    view = table_view(
        request("q=working&sort=jobs&dir=desc&size=25&page=2"), ROWS, COLUMNS, default_sort="name"
    )
    assert len(view.matching) == 40
    assert all(r["status"] == "Working" for r in view.matching)
    jobs = [r["jobs"] for r in view.matching]
    assert jobs == sorted(jobs, reverse=True)
    assert view.rows == view.matching[25:40]
    assert view.aria_sort(COLUMNS[2]) == "descending"


def test_an_unknown_sort_or_size_or_page_falls_back_instead_of_failing() -> None:
    view = table_view(request("sort=secret&size=7&page=999"), ROWS, COLUMNS, default_sort="name")
    assert (view.sort, view.size, view.page) == ("name", 50, 3)


def test_links_keep_the_other_parameters() -> None:
    view = table_view(request("status=Ready&q=robot&page=2"), ROWS, COLUMNS, default_sort="name")
    assert view.url(page=3) == "/robots?status=Ready&q=robot&page=3"
    assert view.sort_url(COLUMNS[0]) == "/robots?status=Ready&q=robot&sort=name&dir=desc"
    assert ("status", "Ready") in view.hidden_params()
    assert ("page", "2") not in view.hidden_params()


def test_the_csv_export_holds_every_matching_row_and_defuses_formulas() -> None:
    rows = [
        {"name": '=HYPERLINK("http://evil")', "status": "Ready", "jobs": -3},
        {"name": "plain", "status": "Ready", "jobs": datetime(2026, 1, 2, 3, 4, 5)},
    ]
    view = table_view(request("export=csv"), rows, COLUMNS, default_sort="name")
    assert view.wants_csv

    async def body() -> str:
        response = view.csv_response("robots")
        chunks = [c if isinstance(c, str) else c.decode() async for c in response.body_iterator]
        return "".join(chunks)

    table = list(csv.reader(io.StringIO(asyncio.run(body()))))
    assert table == [
        ["Name", "Status", "Jobs"],
        ['\'=HYPERLINK("http://evil")', "Ready", "-3"],
        ["plain", "Ready", "2026-01-02T03:04:05"],
    ]
