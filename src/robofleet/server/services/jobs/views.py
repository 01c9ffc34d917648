"""Job rows in Sherpa's read shape, and the JSON documents handed to robots."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

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


def version_document(session: Session, job: JobRow) -> dict[str, Any]:
    """The ProcessVersion document of a job's version (cacheable: any change of a version,
    a new package included, empties the cache)."""
    process = session.get(ProcessRow, job.process_id)
    version = session.get(ProcessVersionRow, job.process_version_id)
    assert process is not None and version is not None
    return {
        "GUID": version.guid,
        "Id": version.id,
        "Name": version.name,
        "ProcessGUID": process.guid,
        "ProcessName": process.name,
        "Kind": version.kind,
        "EntryPoint": version.entry_point,
        "Requirements": version.requirements,
        "Sha256": version.sha256,
        "Size": version.size,
        "FileName": version.file_name,
        "DownloadUrl": f"/api/processVersion/download/{version.guid}",
    }


def robot_documents(
    job: JobRow, version_doc: dict[str, Any], *, robocorp: dict[str, str] | None = None
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
