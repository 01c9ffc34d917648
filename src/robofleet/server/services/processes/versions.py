"""Process versions: uploaded packages, stored by content hash."""

from __future__ import annotations

import base64
import binascii
import io
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from robofleet.server.db.base import utcnow
from robofleet.server.db.tables import JobRow, ProcessRow, ProcessVersionRow
from robofleet.server.domain.errors import (
    Conflict,
    FieldProblem,
    InvalidInput,
    NotFound,
    TooLarge,
)
from robofleet.server.domain.jobs import ACTIVE, JobStatus
from robofleet.server.domain.packages import inspect_package
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.processes import (
    MakeCurrent,
    ProcessVersionCreate,
    ProcessVersionRead,
    ProcessVersionUpdate,
)
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.lookup import find, scoped
from robofleet.server.services.processes.crud import find_process, make_current, pins_its_version
from robofleet.server.services.storage.transfer import Download, blob_download


def find_version(
    session: Session, caller: Caller, ref: int | str, *, field: str = "Guid"
) -> tuple[ProcessVersionRow, ProcessRow]:
    """A version and its process; the process's access folder decides visibility."""
    version = find(session, ProcessVersionRow, caller, ref, entity="process version", field=field)
    try:
        process = find_process(session, caller, version.process_id)
    except NotFound:
        raise NotFound("process version", ref) from None
    return version, process


def version_read(version: ProcessVersionRow, process: ProcessRow) -> ProcessVersionRead:
    return ProcessVersionRead.model_validate(
        {
            **version.__dict__,
            "process_guid": process.guid,
            "process_file_name": version.file_name,
            "is_current": process.current_version_id == version.id,
            "created": version.created_at,
            "updated": version.updated_at,
        }
    )


def decode_base64_file(text: str, *, max_bytes: int) -> BinaryIO:
    """The file of a JSON or form upload. The upload limit holds for its decoded bytes as
    it does for a multipart file (413)."""
    try:
        content = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput.for_field(
            "ProcessFile", "must be the file's bytes in base64, or upload it as multipart/form-data"
        ) from None
    if len(content) > max_bytes:
        problem = (
            f"the file is {len(content)} bytes, more than the {max_bytes} bytes this server "
            "accepts for an upload"
        )
        raise TooLarge(f"ProcessFile: {problem}", details=[FieldProblem("ProcessFile", problem)])
    return io.BytesIO(content)


def create_version(
    runtime: Runtime,
    caller: Caller,
    data: ProcessVersionCreate,
    upload: BinaryIO | None,
    upload_name: str | None,
) -> ProcessVersionRead:
    caller.require(Screen.PROCESS_VERSION, Action.CREATE)
    if upload is None and data.process_file:
        upload = decode_base64_file(data.process_file, max_bytes=runtime.settings.max_upload_bytes)
    if upload is None:
        raise InvalidInput.for_field("ProcessFile", "is required: the package to upload")
    file_name = (data.file_name or upload_name or "").strip()
    if not file_name:
        raise InvalidInput.for_field("FileName", "is required when the file has no name")
    blobs = runtime.blobs
    spooled = blobs.spool(upload)
    try:
        if spooled.size == 0:
            raise InvalidInput.for_field("ProcessFile", "is empty")
        package = inspect_package(file_name, spooled.path)
        with runtime.db.write(actor=caller.actor()) as session:
            process = find_process(
                session, caller, data.process, field="ProcessGuid", for_update=True
            )
            version = ProcessVersionRow(
                account_id=caller.account_id,
                process_id=process.id,
                name=data.name or f"{process.name} {utcnow():%Y-%m-%d %H:%M:%S}",
                description=data.description,
                file_name=Path(file_name).name,
                sha256=spooled.sha256,
                size=spooled.size,
                kind=package.kind,
                entry_point=package.entry_point,
                requirements=package.requirements,
            )
            session.add(version)
            session.flush()
            if becomes_current(process, data.make_current):
                make_current(session, caller, process, version.id)
            blobs.keep(spooled)
            return version_read(version, process)
    finally:
        blobs.discard(spooled)


def becomes_current(process: ProcessRow, make_current: bool | None) -> bool:
    """A version uploaded through Sherpa's API is what runs (Sherpa documents no
    make-current call): the first version of a process becomes current at once, a later one
    unless the process pins its version. `MakeCurrent` 1 or 0 decides explicitly."""
    if make_current is not None:
        return make_current
    return process.current_version_id is None or not pins_its_version(process)


def read_version(runtime: Runtime, caller: Caller, ref: int | str) -> ProcessVersionRead:
    caller.require(Screen.PROCESS_VERSION, Action.READ)
    with runtime.db.read() as session:
        return version_read(*find_version(session, caller, ref))


def list_versions(
    runtime: Runtime, caller: Caller, process_ref: int | str
) -> list[ProcessVersionRead]:
    caller.require(Screen.PROCESS_VERSION, Action.READ)
    with runtime.db.read() as session:
        process = find_process(session, caller, process_ref)
        versions = session.scalars(
            scoped(ProcessVersionRow, caller)
            .where(ProcessVersionRow.process_id == process.id)
            .order_by(ProcessVersionRow.id)
        )
        return [version_read(version, process) for version in versions]


def update_version(
    runtime: Runtime,
    caller: Caller,
    data: ProcessVersionUpdate,
    upload: BinaryIO | None,
    upload_name: str | None,
) -> None:
    """Rename or describe a version, or replace its package (`ProcessFile`). Packages are
    stored by hash and never overwritten: a job that already took this version keeps the
    package it was given (JobRow.package_sha256)."""
    caller.require(Screen.PROCESS_VERSION, Action.UPDATE)
    if upload is None and data.process_file:
        upload = decode_base64_file(data.process_file, max_bytes=runtime.settings.max_upload_bytes)
    blobs = runtime.blobs
    spooled = blobs.spool(upload) if upload is not None else None
    try:
        if spooled is not None and spooled.size == 0:
            raise InvalidInput.for_field("ProcessFile", "is empty")
        with runtime.db.write(actor=caller.actor()) as session:
            version, process = find_version(session, caller, data.guid)
            if data.process is not None:
                named = find_process(session, caller, data.process, field="ProcessGuid")
                if named.id != process.id:
                    raise Conflict(
                        f"version {version.guid} belongs to process '{process.name}', not "
                        f"'{named.name}'; a version cannot move to another process",
                        code="foreign_process",
                    )
            if data.name is not None:
                version.name = data.name
            if data.description is not None:
                version.description = data.description
            if spooled is not None:
                file_name = (data.file_name or upload_name or version.file_name).strip()
                package = inspect_package(file_name, spooled.path)
                version.file_name = Path(file_name).name
                version.sha256, version.size = spooled.sha256, spooled.size
                version.kind, version.entry_point = package.kind, package.entry_point
                version.requirements = package.requirements
                blobs.keep(spooled)
    finally:
        if spooled is not None:
            blobs.discard(spooled)


def set_current(runtime: Runtime, caller: Caller, data: MakeCurrent) -> ProcessVersionRead:
    caller.require(Screen.PROCESS, Action.UPDATE)
    with runtime.db.write(actor=caller.actor()) as session:
        version, process = find_version(session, caller, data.guid)
        make_current(session, caller, process, version.id, pin=True)
        return version_read(version, process)


def delete_version(runtime: Runtime, caller: Caller, ref: int | str) -> None:
    caller.require(Screen.PROCESS_VERSION, Action.DELETE)
    with runtime.db.write(actor=caller.actor()) as session:
        version, process = find_version(session, caller, ref)
        if process.current_version_id == version.id:
            raise Conflict(
                "this is the process's current version; make another one current first",
                code="version_current",
            )
        waiting = [int(s) for s in (*ACTIVE, JobStatus.PENDING)]
        if session.scalar(
            select(JobRow.guid)
            .where(JobRow.process_version_id == version.id, JobRow.status.in_(waiting))
            .limit(1)
        ):
            raise Conflict("jobs of this version are pending or running", code="version_in_use")
        version.is_deleted = True


def package_download(
    runtime: Runtime,
    caller: Caller,
    ref: int | str,
    sha256: str | None = None,
    range_header: str | None = None,
) -> Download:
    """The version's package, streamed from the blob store (whichever it is), whole or one
    `Range`. `sha256` asks for the package a job of this version was given, which a later
    update of the version may have replaced."""
    caller.require(Screen.PROCESS_VERSION, Action.READ)
    with runtime.db.read() as session:
        version, _process = find_version(session, caller, ref)
        wanted = (sha256 or version.sha256).strip().lower()
        size = version.size
        if wanted != version.sha256:
            given = session.scalar(
                select(JobRow.id)
                .where(
                    JobRow.account_id == version.account_id,
                    JobRow.process_version_id == version.id,
                    JobRow.package_sha256 == wanted,
                )
                .limit(1)
            )
            if not given:
                raise NotFound(f"package {wanted} of version", version.guid)
            # An earlier package: its size is the blob's own.
            size = runtime.blobs.size(wanted) or 0
    return blob_download(
        runtime.blobs,
        sha256=wanted,
        size=size,
        content_type="application/octet-stream",
        filename=version.file_name,
        range_header=range_header,
        entity="package file of version",
        ref=version.guid,
    )
