"""Jobs: create, read, list, update, stop, abort, clone, delete."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from robofleet.server.db.base import utcnow
from robofleet.server.db.tables import JobRow, ProcessRow
from robofleet.server.domain.errors import Conflict, InvalidInput
from robofleet.server.domain.jobs import ACTIVE, FINAL, JobStatus
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.domain.refs import new_guid
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.base import Page
from robofleet.server.schemas.jobs import JobCreate, JobFilter, JobRead, JobUpdate
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.lookup import find, scoped
from robofleet.server.services.access.robot_scope import own_jobs
from robofleet.server.services.fleet.groups import find_group
from robofleet.server.services.fleet.robots import find_robot
from robofleet.server.services.jobs import lean_update
from robofleet.server.services.jobs.state import change_job_status, request_abort, request_stop
from robofleet.server.services.jobs.views import job_read, job_reads
from robofleet.server.services.processes.crud import find_process
from robofleet.server.services.tasks.reading import find_task


def find_job(
    session: Session,
    caller: Caller,
    ref: int | str,
    *,
    field: str = "Guid",
    for_update: bool = False,
) -> JobRow:
    job = find(session, JobRow, caller, ref, entity="job", field=field, for_update=for_update)
    if caller.principal.folder_ids is not None:
        find_process(session, caller, job.process_id)  # the process's folder decides
    return job


def insert_job(session: Session, runtime: Runtime, caller: Caller, data: JobCreate) -> JobRow:
    """Create a pending job in the open transaction and wake the robots that may take it."""
    process = find_process(session, caller, data.process, field="Process")
    if process.current_version_id is None:
        raise Conflict(
            f"process '{process.name}' has no current version; upload one and make it current",
            code="no_current_version",
        )
    if data.robot is not None and data.robot_group is not None:
        raise InvalidInput.for_field("RobotGroup", "give a Robot or a RobotGroup, not both")
    robot = find_robot(session, caller, data.robot) if data.robot is not None else None
    group = find_group(session, caller, data.robot_group) if data.robot_group is not None else None
    # The default task the job's robot reads (consumeNextJob's `Task`, sdk.default_task());
    # one this caller cannot see is 404.
    task = find_task(session, caller, data.task, field="Task")[0] if data.task is not None else None
    if data.stop_after and data.abort_after and data.abort_after < data.stop_after:
        raise InvalidInput.for_field("AbortAfter", "must not be earlier than StopAfter")
    return add_job(
        session,
        runtime,
        NewJob(
            account_id=caller.account_id,
            process=process,
            robot_id=robot.id if robot else None,
            robot_group_id=group.id if group else None,
            task_id=task.id if task else None,
            source=data.source,
            priority=data.priority,
            parameters=data.parameters,
            stop_after=data.stop_after,
            abort_after=data.abort_after,
        ),
    )


@dataclass(frozen=True)
class NewJob:
    """A pending job whose references are already found and allowed (insert_job checks a
    caller's; the trigger engine its trigger's)."""

    account_id: int
    process: ProcessRow
    robot_id: int | None
    robot_group_id: int | None
    task_id: int | None
    source: str
    priority: int
    parameters: dict[str, Any]
    stop_after: datetime | None = None
    abort_after: datetime | None = None
    schedule_id: int | None = None


def add_job(session: Session, runtime: Runtime, new: NewJob, *, flush: bool = True) -> JobRow:
    """Insert the pending job in the open transaction and wake the robots that may take it
    when it commits. Without `flush` the job is only added (its GUID set, its id not yet):
    the trigger scheduler writes a batch of jobs with one INSERT."""
    assert new.process.current_version_id is not None
    job = JobRow(
        guid=new_guid(),
        # Given, not left to the column's server default: with every column given and the id
        # reserved (trigger batches), the ORM needs no RETURNING and can executemany.
        is_deleted=False,
        account_id=new.account_id,
        process_id=new.process.id,
        process_version_id=new.process.current_version_id,
        robot_id=new.robot_id,
        requested_robot_id=new.robot_id,
        robot_group_id=new.robot_group_id,
        task_id=new.task_id,
        schedule_id=new.schedule_id,
        status=int(JobStatus.PENDING),
        source=new.source,
        priority=new.priority,
        parameters=new.parameters,
        stop_after=new.stop_after,
        abort_after=new.abort_after,
        status_changed_at=utcnow(),
    )
    session.add(job)
    if flush:
        session.flush()
    runtime.wakeups.announce(session, new.account_id, new.robot_id)
    return job


def create_job(runtime: Runtime, caller: Caller, data: JobCreate) -> JobRead:
    caller.require(Screen.JOB, Action.CREATE)
    with runtime.db.write(actor=caller.actor()) as session:
        return job_read(session, insert_job(session, runtime, caller, data))


def read_job(runtime: Runtime, caller: Caller, ref: int | str) -> JobRead:
    caller.require(Screen.JOB, Action.READ)
    with runtime.db.read() as session:
        return job_read(session, find_job(session, caller, ref))


def list_jobs(runtime: Runtime, caller: Caller, query: JobFilter) -> Page[JobRead]:
    caller.require(Screen.JOB, Action.READ)
    with runtime.db.read() as session:
        conditions: list[ColumnElement[bool]] = [
            JobRow.account_id == caller.account_id,
            JobRow.is_deleted.is_(False),
        ]
        if caller.robot_id is not None:
            conditions.append(own_jobs(caller.robot_id))  # as for one job (find_job)
        if caller.principal.folder_ids is not None:
            # The process's access folder decides, as for one job (find_job).
            visible = scoped(ProcessRow, caller).with_only_columns(ProcessRow.id)
            conditions.append(JobRow.process_id.in_(visible.scalar_subquery()))
        if query.status:
            conditions.append(JobRow.status.in_(query.status))
        if query.robot is not None:
            conditions.append(JobRow.robot_id == find_robot(session, caller, query.robot).id)
        if query.process is not None:
            conditions.append(JobRow.process_id == find_process(session, caller, query.process).id)
        if query.source:
            conditions.append(JobRow.source == query.source)
        if query.since:
            conditions.append(JobRow.created_at >= query.since)
        if query.until:
            conditions.append(JobRow.created_at < query.until)
        total = session.scalar(select(func.count()).select_from(JobRow).where(*conditions)) or 0
        items = job_reads(session, *conditions, offset=query.offset, limit=query.count)
        return Page[JobRead](items=items, total=total, offset=query.offset, count=len(items))


def update_job(runtime: Runtime, caller: Caller, data: JobUpdate) -> None:
    """Status, progress, return value and message, from the job's robot or an operator. On
    SQLite a robot's common report is written without the ORM first (jobs.lean_update)."""
    caller.require(Screen.JOB, Action.UPDATE)
    if runtime.db.raw_writes and lean_update.update_on_sqlite(runtime, caller, data):
        return
    session_update_job(runtime, caller, data)


def session_update_job(runtime: Runtime, caller: Caller, data: JobUpdate) -> None:
    """update_job on the ORM session: the reference for every case (the lean paths leave
    every other one here, with nothing changed)."""
    caller.require(Screen.JOB, Action.UPDATE)
    with runtime.db.write(actor=caller.actor()) as session:
        # A robot finds only its own jobs (access.robot_scope): another's answers 404.
        job = find_job(session, caller, data.guid, for_update=True)
        robot_id = caller.principal.robot_id
        if data.progress is not None:
            job.progress = data.progress
        if "return_value" in data.model_fields_set:
            job.return_value = data.return_value
        for name in ("priority", "stop_after", "abort_after"):
            if name in data.model_fields_set and getattr(data, name) is not None:
                if JobStatus(job.status) in FINAL:
                    raise Conflict(
                        f"job {job.guid} has ended; its {name} cannot change", code="job_ended"
                    )
                setattr(job, name, getattr(data, name))
        if data.status is not None and data.status != job.status:
            _apply_status(session, job, JobStatus(data.status), robot_id, data.message)
        elif data.message is not None:
            job.last_message = data.message


def _apply_status(
    session: Session, job: JobRow, status: JobStatus, robot_id: int | None, message: str | None
) -> None:
    if status == JobStatus.STOPPING:
        request_stop(session, job)
    elif status == JobStatus.ABORTING:
        request_abort(session, job)
    else:
        if status == JobStatus.IN_PROGRESS and robot_id is not None and job.claimed_at is None:
            job.claimed_at, job.robot_id = utcnow(), robot_id  # a robot that did not consume
        change_job_status(session, job, status, message=message)


def stop_job(runtime: Runtime, caller: Caller, ref: int | str, *, abort: bool = False) -> JobRead:
    """Soft stop, or with `abort` a hard one (jobs.state.request_stop / request_abort)."""
    caller.require(Screen.JOB, Action.UPDATE)
    with runtime.db.write(actor=caller.actor()) as session:
        job = find_job(session, caller, ref, for_update=True)
        (request_abort if abort else request_stop)(session, job)
        return job_read(session, job)


def clone_job(runtime: Runtime, caller: Caller, ref: int | str) -> JobRead:
    """A new pending job like the given one, on its process's current version."""
    caller.require(Screen.JOB, Action.CREATE)
    with runtime.db.write(actor=caller.actor()) as session:
        original = find_job(session, caller, ref)
        data = JobCreate(
            process=original.process_id,
            robot=original.requested_robot_id,
            robot_group=original.robot_group_id,
            task=original.task_id,
            priority=original.priority,
            parameters=original.parameters,
            stop_after=None,
            abort_after=None,
            source="API",
        )
        return job_read(session, insert_job(session, runtime, caller, data))


def delete_job(runtime: Runtime, caller: Caller, ref: int | str) -> None:
    caller.require(Screen.JOB, Action.DELETE)
    with runtime.db.write(actor=caller.actor()) as session:
        job = find_job(session, caller, ref, for_update=True)
        if JobStatus(job.status) in ACTIVE or job.status == JobStatus.PENDING:
            raise Conflict(
                f"job {job.guid} is {JobStatus(job.status).label}; stop or abort it "
                "before deleting it",
                code="job_not_ended",
            )
        job.is_deleted = True
