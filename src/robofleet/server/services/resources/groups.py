"""Resource groups: named buckets for resources (Sherpa shows them only in its UI; here they
have Sherpa-style calls of their own, /api/assetGroup/*)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from robofleet.server.db.tables import ResourceGroupRow, ResourceRow
from robofleet.server.domain.errors import Conflict
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.base import GuidResponse
from robofleet.server.schemas.resources import (
    ResourceGroupCreate,
    ResourceGroupRead,
    ResourceGroupUpdate,
)
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.folders import folder_id_for
from robofleet.server.services.access.lookup import ensure_name_free, find, scoped

ENTITY = "resource group"


def find_group(
    session: Session, caller: Caller, ref: int | str, *, field: str = "ResourceGroup"
) -> ResourceGroupRow:
    return find(session, ResourceGroupRow, caller, ref, entity=ENTITY, field=field)


def create_group(runtime: Runtime, caller: Caller, data: ResourceGroupCreate) -> GuidResponse:
    caller.require(Screen.RESOURCE, Action.CREATE)
    with runtime.db.write(actor=caller.actor()) as session:
        ensure_name_free(session, ResourceGroupRow, caller, data.name, entity=ENTITY)
        group = ResourceGroupRow(
            account_id=caller.account_id,
            name=data.name,
            description=data.description,
            folder_id=folder_id_for(session, caller, data.folder),
        )
        session.add(group)
        session.flush()
        return GuidResponse(guid=group.guid)


def read_group(runtime: Runtime, caller: Caller, ref: int | str) -> ResourceGroupRead:
    caller.require(Screen.RESOURCE, Action.READ)
    with runtime.db.read() as session:
        return ResourceGroupRead.model_validate(find_group(session, caller, ref, field="Guid"))


def list_groups(runtime: Runtime, caller: Caller) -> list[ResourceGroupRead]:
    caller.require(Screen.RESOURCE, Action.READ)
    with runtime.db.read() as session:
        rows = session.scalars(scoped(ResourceGroupRow, caller).order_by(ResourceGroupRow.id))
        return [ResourceGroupRead.model_validate(row) for row in rows]


def update_group(runtime: Runtime, caller: Caller, data: ResourceGroupUpdate) -> None:
    caller.require(Screen.RESOURCE, Action.UPDATE)
    with runtime.db.write(actor=caller.actor()) as session:
        group = find(
            session,
            ResourceGroupRow,
            caller,
            data.guid,
            entity=ENTITY,
            field="Guid",
            for_update=True,
        )
        if data.name is not None and data.name != group.name:
            ensure_name_free(session, ResourceGroupRow, caller, data.name, entity=ENTITY)
            group.name = data.name
        if data.description is not None:
            group.description = data.description
        if "folder" in data.model_fields_set:
            group.folder_id = folder_id_for(session, caller, data.folder)


def delete_group(runtime: Runtime, caller: Caller, ref: int | str) -> None:
    """A group that still holds live resources is kept (409): move or delete them first."""
    caller.require(Screen.RESOURCE, Action.DELETE)
    with runtime.db.write(actor=caller.actor()) as session:
        group = find(
            session, ResourceGroupRow, caller, ref, entity=ENTITY, field="Guid", for_update=True
        )
        held = session.scalar(
            select(ResourceRow.id)
            .where(ResourceRow.resource_group_id == group.id, ResourceRow.is_deleted.is_(False))
            .limit(1)
        )
        if held is not None:
            raise Conflict(
                f"resource group '{group.name}' still holds resources; move or delete them first",
                code="group_not_empty",
            )
        group.is_deleted = True
