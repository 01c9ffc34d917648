"""Processes: automation scenarios, each with one current version."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from robofleet.server.db.tables import ProcessRow, ProcessVersionRow
from robofleet.server.domain.errors import Conflict
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.base import GuidResponse
from robofleet.server.schemas.processes import ProcessCreate, ProcessRead, ProcessUpdate
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.folders import folder_id_for
from robofleet.server.services.access.lookup import ensure_name_free, find, scoped


def find_process(
    session: Session,
    caller: Caller,
    ref: int | str,
    *,
    field: str = "Process",
    for_update: bool = False,
) -> ProcessRow:
    return find(
        session, ProcessRow, caller, ref, entity="process", field=field, for_update=for_update
    )


def process_read(session: Session, process: ProcessRow) -> ProcessRead:
    version_guid = (
        session.scalar(
            select(ProcessVersionRow.guid).where(ProcessVersionRow.id == process.current_version_id)
        )
        if process.current_version_id
        else None
    )
    return ProcessRead.model_validate(
        {
            **process.__dict__,
            "process_version_id": process.current_version_id,
            "process_version_guid": version_guid,
            "version_pinned": pins_its_version(process),
            "created": process.created_at,
            "updated": process.updated_at,
        }
    )


def pins_its_version(process: ProcessRow) -> bool:
    """Whether a new upload leaves the current version alone (docs/decisions.md): a version
    was made current by hand, or the process names a MinVersionToRun."""
    return process.version_pinned or bool(process.min_version_to_run.strip())


def create_process(runtime: Runtime, caller: Caller, data: ProcessCreate) -> GuidResponse:
    caller.require(Screen.PROCESS, Action.CREATE)
    with runtime.db.write(actor=caller.actor()) as session:
        ensure_name_free(session, ProcessRow, caller, data.name, entity="process")
        process = ProcessRow(
            account_id=caller.account_id,
            folder_id=folder_id_for(session, caller, data.folder),
            **data.model_dump(exclude={"folder"}),
        )
        session.add(process)
        session.flush()
        return GuidResponse(guid=process.guid)


def read_process(runtime: Runtime, caller: Caller, ref: int | str) -> ProcessRead:
    caller.require(Screen.PROCESS, Action.READ)
    with runtime.db.read() as session:
        return process_read(session, find_process(session, caller, ref))


def list_processes(runtime: Runtime, caller: Caller) -> list[ProcessRead]:
    caller.require(Screen.PROCESS, Action.READ)
    with runtime.db.read() as session:
        rows = session.scalars(scoped(ProcessRow, caller).order_by(ProcessRow.id))
        return [process_read(session, row) for row in rows]


def update_process(runtime: Runtime, caller: Caller, data: ProcessUpdate) -> None:
    caller.require(Screen.PROCESS, Action.UPDATE)
    with runtime.db.write(actor=caller.actor()) as session:
        process = find_process(session, caller, data.guid, field="Guid", for_update=True)
        if data.name is not None and data.name != process.name:
            ensure_name_free(session, ProcessRow, caller, data.name, entity="process")
        for name, value in data.model_dump(
            exclude={"guid", "folder", "current_version"}, exclude_none=True
        ).items():
            setattr(process, name, value)
        if "folder" in data.model_fields_set:
            process.folder_id = folder_id_for(session, caller, data.folder)
        if data.current_version is not None:
            make_current(session, caller, process, data.current_version, pin=True)


def make_current(
    session: Session,
    caller: Caller,
    process: ProcessRow,
    version_ref: int | str,
    *,
    pin: bool = False,
) -> ProcessVersionRow:
    """Make a version its process's current one; `pin` (a choice made by hand) keeps it
    current when later versions are uploaded."""
    version = find(
        session,
        ProcessVersionRow,
        caller,
        version_ref,
        entity="process version",
        field="CurrentVersion",
    )
    if version.process_id != process.id:
        raise Conflict(f"version {version.guid} belongs to another process", code="foreign_version")
    process.current_version_id = version.id
    if pin:
        process.version_pinned = True
    return version


def delete_process(runtime: Runtime, caller: Caller, ref: int | str) -> None:
    caller.require(Screen.PROCESS, Action.DELETE)
    with runtime.db.write(actor=caller.actor()) as session:
        find_process(session, caller, ref, for_update=True).is_deleted = True
