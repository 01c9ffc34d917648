"""Robot messages: written by robots in batches, read per job or robot, purged by age."""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, insert, select, update
from sqlalchemy.orm import Session

from robofleet.server.db.audit import record_event
from robofleet.server.db.base import utcnow
from robofleet.server.db.system_actors import ROBOT_LOG_LINES
from robofleet.server.db.tables import JobRow, LogRow, ProcessVersionRow, RobotRow
from robofleet.server.domain.errors import NotFound
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.domain.refs import new_guid
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.logs import (
    LogCreate,
    LogCreated,
    LogFilter,
    LogLine,
    LogPurge,
    LogRead,
)
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.lookup import find
from robofleet.server.services.access.robot_scope import own_rows


def _ids_by_guid(
    session: Session,
    model: type[JobRow | RobotRow | ProcessVersionRow],
    account_id: int,
    guids: set[str],
) -> dict[str, int]:
    if not guids:
        return {}
    rows = session.execute(
        select(model.guid, model.id).where(
            model.account_id == account_id, model.guid.in_(sorted(guids))
        )
    )
    return {guid: row_id for guid, row_id in rows}


def _known(ids: dict[str, int], guid: str | None, entity: str) -> int | None:
    """The id of the object `guid` names (None when no GUID is given), or NotFound."""
    key = guid.strip().lower() if guid else None
    if not key:
        return None
    if key not in ids:
        raise NotFound(entity, guid)
    return ids[key]


def create_logs(runtime: Runtime, caller: Caller, data: LogCreate) -> LogCreated:
    caller.require(Screen.LOG, Action.CREATE)
    lines = data.all_lines()
    now = utcnow()

    def norm(value: str | None) -> str | None:
        return value.strip().lower() if value else None

    with runtime.db.write(actor=ROBOT_LOG_LINES) as session:
        if caller.robot_id is not None:
            _check_robot_lines(session, caller.robot_id, lines)
        jobs = _ids_by_guid(
            session, JobRow, caller.account_id, {g for line in lines if (g := norm(line.job_guid))}
        )
        robots = _ids_by_guid(
            session,
            RobotRow,
            caller.account_id,
            {g for line in lines if (g := norm(line.robot_guid))},
        )
        versions = _ids_by_guid(
            session,
            ProcessVersionRow,
            caller.account_id,
            {g for line in lines if (g := norm(line.process_version_guid))},
        )
        rows = []
        last_message: dict[int, str] = {}
        for line in lines:
            # A GUID given names an object of this account, or the line is refused (404):
            # a line silently detached from its robot or version would mislead its reader.
            job_id = _known(jobs, line.job_guid, "job")
            robot_id = _known(robots, line.robot_guid, "robot")
            rows.append(
                {
                    "guid": new_guid(),
                    "account_id": caller.account_id,
                    "robot_id": robot_id if robot_id is not None else caller.principal.robot_id,
                    "process_version_id": _known(
                        versions, line.process_version_guid, "process version"
                    ),
                    "job_id": job_id,
                    "level": line.level,
                    "message": line.message,
                    "fields": line.fields,
                    "created_at": line.time or now,
                    "updated_at": now,
                }
            )
            if job_id is not None:
                last_message[job_id] = line.message[:10_000]
        session.execute(insert(LogRow), rows)
        for job_id, message in last_message.items():
            session.execute(update(JobRow).where(JobRow.id == job_id).values(last_message=message))
        if len(rows) == 1 and data.lines is None:
            return LogCreated(guid=rows[0]["guid"])
        return LogCreated(count=len(rows))


def _check_robot_lines(session: Session, robot_id: int, lines: list[LogLine]) -> None:
    """A robot writes lines of its own jobs, about itself and its own jobs' packages: any
    other reference is unknown to it (404), as access.robot_scope rules."""
    refs = (
        (JobRow, "job", "job_guid"),
        (RobotRow, "robot", "robot_guid"),
        (ProcessVersionRow, "process version", "process_version_guid"),
    )
    for model, entity, attribute in refs:
        guids = {g.strip().lower() for line in lines if (g := getattr(line, attribute))}
        if not guids:
            continue
        conditions: list[ColumnElement[bool]] = [model.guid.in_(sorted(guids))]
        own = own_rows(model, robot_id)
        if own is not None:
            conditions.append(own)
        found = set(session.scalars(select(model.guid).where(*conditions)))
        for guid in sorted(guids - found):
            raise NotFound(entity, guid)


def _own_lines(caller: Caller) -> list[ColumnElement[bool]]:
    """For a robot: only lines about itself or its jobs."""
    own = own_rows(LogRow, caller.robot_id) if caller.robot_id is not None else None
    return [] if own is None else [own]


def read_log(runtime: Runtime, caller: Caller, guid: str) -> LogRead:
    caller.require(Screen.LOG, Action.READ)
    with runtime.db.read() as session:
        row = session.scalar(
            select(LogRow).where(
                LogRow.account_id == caller.account_id,
                LogRow.guid == guid.strip().lower(),
                *_own_lines(caller),
            )
        )
        if row is None:
            raise NotFound("log line", guid)
        return LogRead.model_validate(row)


def list_logs(runtime: Runtime, caller: Caller, query: LogFilter) -> list[LogRead]:
    caller.require(Screen.LOG, Action.READ)
    conditions: list[ColumnElement[bool]] = [
        LogRow.account_id == caller.account_id,
        *_own_lines(caller),
    ]
    with runtime.db.read() as session:
        job_ref = query.job if query.job is not None else query.job_guid
        if job_ref is not None:
            field = "Job" if query.job is not None else "JobGuid"
            job = find(session, JobRow, caller, job_ref, entity="job", field=field)
            conditions.append(LogRow.job_id == job.id)
        if query.robot is not None:
            robot = find(session, RobotRow, caller, query.robot, entity="robot", field="Robot")
            conditions.append(LogRow.robot_id == robot.id)
        if query.level:
            conditions.append(LogRow.level == query.level)
        if query.since:
            conditions.append(LogRow.created_at >= query.since)
        if query.until:
            conditions.append(LogRow.created_at < query.until)
        if query.after_id is not None:
            conditions.append(LogRow.id > query.after_id)
        ordered = LogRow.id if query.after_id is not None else LogRow.id.desc()
        rows = session.scalars(
            select(LogRow)
            .where(*conditions)
            .order_by(ordered)
            .offset(query.offset)
            .limit(query.count)
        )
        return [LogRead.model_validate(row) for row in rows]


def purge_logs(runtime: Runtime, caller: Caller, data: LogPurge) -> int:
    caller.require(Screen.LOG, Action.DELETE)
    with runtime.db.write(actor=caller.actor()) as session:
        result = session.execute(
            delete(LogRow).where(
                LogRow.account_id == caller.account_id, LogRow.created_at < data.time
            )
        )
        purged = int(getattr(result, "rowcount", 0) or 0)
        record_event(
            session,
            caller.actor(),
            action="purge",
            object_type="log",
            object_guid=None,
            message=f"purged {purged} log lines older than {data.time:%Y-%m-%d %H:%M:%S}",
        )
        return purged
