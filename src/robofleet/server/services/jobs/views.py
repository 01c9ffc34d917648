"""Job rows in Sherpa's read shape, and the JSON documents handed to robots."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session, aliased

from robofleet.contract import ROBOCORP_JOB_KEY
from robofleet.server.db.base import utcnow
from robofleet.server.db.tables import (
    JobRow,
    ProcessRow,
    ProcessVersionRow,
    RobotGroupRow,
    RobotRow,
    TaskRow,
)
from robofleet.server.domain.jobs import JobStatus
from robofleet.server.schemas.base import unix_time
from robofleet.server.schemas.jobs import JobRead
from robofleet.server.services.tasks.views import task_read

NO_DEFAULT_TASK = "{}"
"""consumeNextJob's `Task` when the job has no default task: Sherpa's framework does
`json.loads(resp["Task"])`, which an empty string would break."""

_Robot = aliased(RobotRow)
_Group = aliased(RobotGroupRow)


def _joined() -> Select[JobRow, str, str, str, str | None, str | None, str | None]:
    return (
        select(
            JobRow,
            ProcessRow.guid,
            ProcessRow.name,
            ProcessVersionRow.guid,
            _Robot.guid,
            _Robot.name,
            _Group.guid,
        )
        .join(ProcessRow, ProcessRow.id == JobRow.process_id)
        .join(ProcessVersionRow, ProcessVersionRow.id == JobRow.process_version_id)
        .outerjoin(_Robot, _Robot.id == JobRow.robot_id)
        .outerjoin(_Group, _Group.id == JobRow.robot_group_id)
    )


def _as_read(row: Sequence[Any]) -> JobRead:
    job, process_guid, process_name, version_guid, robot_guid, robot_name, group_guid = row
    return JobRead.model_validate(
        {
            **job.__dict__,
            "process_guid": process_guid,
            "process_name": process_name,
            "process_version_guid": version_guid,
            "robot_guid": robot_guid,
            "robot_name": robot_name,
            "robot_group_guid": group_guid,
            "status_name": JobStatus(job.status).label,
        }
    )


def job_reads(
    session: Session,
    *conditions: ColumnElement[bool],
    offset: int = 0,
    limit: int | None = None,
    newest_first: bool = True,
) -> list[JobRead]:
    query = _joined().where(*conditions)
    query = query.order_by(JobRow.id.desc() if newest_first else JobRow.id)
    query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [_as_read(row) for row in session.execute(query)]


def job_read(session: Session, job: JobRow) -> JobRead:
    return job_reads(session, JobRow.id == job.id)[0]


VERSION_DOCUMENT_KEYS = (
    "GUID",
    "Id",
    "Name",
    "ProcessGUID",
    "ProcessName",
    "Kind",
    "EntryPoint",
    "Requirements",
    "Sha256",
    "Size",
    "FileName",
)
"""The ProcessVersion document's keys but DownloadUrl, in order (db.consume_statements reads
its values in this order for the lean consume)."""


def version_document_of(values: Sequence[Any]) -> dict[str, Any]:
    """The ProcessVersion document of its values in VERSION_DOCUMENT_KEYS order: one builder
    for the session path and the lean consume, so their answers are the same bytes."""
    document = dict(zip(VERSION_DOCUMENT_KEYS, values, strict=True))
    document["DownloadUrl"] = f"/api/processVersion/download/{document['GUID']}"
    return document


def version_document(session: Session, job: JobRow) -> dict[str, Any]:
    """The ProcessVersion document of a job's version (cacheable: any change of a version,
    a new package included, empties the cache)."""
    process = session.get(ProcessRow, job.process_id)
    version = session.get(ProcessVersionRow, job.process_version_id)
    assert process is not None and version is not None
    return version_document_of(
        (
            version.guid,
            version.id,
            version.name,
            process.guid,
            process.name,
            version.kind,
            version.entry_point,
            version.requirements,
            version.sha256,
            version.size,
            version.file_name,
        )
    )


class RobotJob(Protocol):
    """What a robot's Job document says of a job: a JobRow, or the lean consume's values."""

    @property
    def guid(self) -> str: ...
    @property
    def id(self) -> int: ...
    @property
    def status(self) -> int: ...
    @property
    def priority(self) -> int: ...
    @property
    def source(self) -> str: ...
    @property
    def job_type(self) -> int: ...
    @property
    def parameters(self) -> dict[str, Any]: ...
    @property
    def stop_after(self) -> datetime | None: ...
    @property
    def abort_after(self) -> datetime | None: ...
    @property
    def created_at(self) -> datetime: ...


def robot_documents(
    job: RobotJob, version_doc: dict[str, Any], *, robocorp: dict[str, str] | None = None
) -> tuple[str, str]:
    """`Job` and `ProcessVersion` as JSON strings, the form consumeNextJob returns; a
    Robocorp job's `Job` carries `Robocorp` (services.jobs.robocorp_runs)."""
    job_doc: dict[str, Any] = {
        "GUID": job.guid,
        "Id": job.id,
        "Status": job.status,
        "Priority": job.priority,
        "Source": job.source,
        "JobType": job.job_type,
        "Parameters": job.parameters,
        "StopAfter": unix_time(job.stop_after),
        "AbortAfter": unix_time(job.abort_after),
        "ProcessGUID": version_doc["ProcessGUID"],
        "ProcessName": version_doc["ProcessName"],
        "CreatedAt": unix_time(job.created_at),
        "ServerTime": unix_time(utcnow()),
    }
    if robocorp is not None:
        job_doc[ROBOCORP_JOB_KEY] = robocorp
    version = {k: v for k, v in version_doc.items() if k != "ProcessName"}
    return json.dumps(job_doc), json.dumps(version)


def default_task_document(session: Session, job: JobRow) -> str:
    """consumeNextJob's `Task`: the job's default task as a JSON string of its task/read row,
    or `{}` when it has none."""
    task = session.get(TaskRow, job.task_id) if job.task_id is not None else None
    if task is None:
        return NO_DEFAULT_TASK
    return task_read(session, task).model_dump_json()
