"""Audit: who did what to which object, with filters and links to the objects' pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Final

from fastapi import APIRouter, Response
from markupsafe import Markup

from robofleet.server.schemas.identity import AuditFilter
from robofleet.server.services.access.audit_log import list_audit
from robofleet.server.web.pages import PageDep, WebRoute
from robofleet.server.web.screens.admin_forms import PERIODS, non_empty, period_start
from robofleet.server.web.tables import Column, Row, table_view

router = APIRouter(route_class=WebRoute, include_in_schema=False)

NEWEST: Final = 1000
OBJECT_PAGES: Final = {
    "account": "/accounts/{}",
    "user": "/users/{}",
    "role": "/roles/{}",
    "access_folder": "/folders/{}",
    "robot": "/robots/{}",
    "process": "/processes/{}",
    "job": "/jobs/{}",
    "queue": "/queues/{}",
    "task": "/tasks/{}",
    "trigger": "/triggers/{}",
    "resource": "/resources/{}",
    "resource_group": "/resources/groups/{}",
    "robot_group": "/robot-groups/{}",
    "storage_folder": "/storage/folders/{}",
    "storage_file": "/storage/files/{}",
}
"""Object types with a page of their own, by GUID."""
OBJECT_TYPES: Final = (
    "access_folder",
    "account",
    "api_key",
    "job",
    "log",
    "process",
    "process_version",
    "queue",
    "resource",
    "resource_group",
    "robot",
    "robot_group",
    "role",
    "storage_file",
    "storage_folder",
    "trigger",
    "user",
)
ACTIONS: Final = (
    "create",
    "update",
    "delete",
    "login",
    "login_failed",
    "logout",
    "assign",
    "refresh",
    "rotate",
    "purge",
)
FILTERS: Final = ("object_type", "action", "actor", "object_guid", "period")


def _object(row: Row) -> Markup | str:
    guid = row["object_guid"] or ""
    pattern = OBJECT_PAGES.get(row["object_type"])
    if not guid or pattern is None or row["action"] == "delete":
        return guid
    return Markup('<a href="{}">{}</a>').format(pattern.format(guid), guid)


ACTOR_PAGES: Final = {"user": "/users/{}", "user_key": "/users/{}", "robot": "/robots/{}"}
"""Actors with a page of their own, by GUID."""


def _actor(row: Row) -> Markup | str:
    pattern = ACTOR_PAGES.get(row["actor_kind"])
    if pattern is None or not row["actor_guid"]:
        return str(row["actor_name"])
    return Markup('<a href="{}">{}</a>').format(
        pattern.format(row["actor_guid"]), row["actor_name"]
    )


COLUMNS: Final = (
    Column("at", "Time"),
    Column("actor_name", "Who", render=_actor),
    Column("actor_kind", "As"),
    Column("action", "Action"),
    Column("object_type", "Object type"),
    Column("object_guid", "Object", render=_object),
    Column("message", "Message"),
    Column("changes", "Changes", sortable=False),
    Column("address", "Address"),
    Column("user_agent", "Agent"),
    Column("guid", "Record GUID"),
)


@router.get("/audit")
async def audit_page(page: PageDep) -> Response:
    params = dict(page.request.query_params)
    chosen = {name: params.get(name, "").strip() for name in FILTERS}
    query = AuditFilter.model_validate(
        {
            **non_empty({k: v for k, v in chosen.items() if k != "period"}),
            "since": period_start(chosen["period"], datetime.now(UTC)),
            "count": NEWEST,
        }
    )
    found = await page.call(list_audit, query)
    rows = [
        {
            **entry.model_dump(),
            "changes": json.dumps(entry.changes, ensure_ascii=False) if entry.changes else "",
        }
        for entry in found.items
    ]
    view = table_view(page.request, rows, COLUMNS, default_sort="at", default_descending=True)
    if view.wants_csv:
        return view.csv_response("audit")
    return page.render(
        "audit.html",
        view=view,
        chosen=chosen,
        periods=PERIODS,
        object_types=OBJECT_TYPES,
        actions=ACTIONS,
        capped=found.total > len(rows),
        total=found.total,
        newest=NEWEST,
    )
