"""Reading log lines: one by GUID, pages with filters and a cursor, a line's screenshot."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from robofleet.contract import LEVELS_BY_SEVERITY, LogLevel
from robofleet.server.db.blobs import BlobMissing
from robofleet.server.db.tables import JobRow, LogRow, ProcessRow, ProcessVersionRow, RobotRow
from robofleet.server.domain.errors import InvalidInput, NotFound
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.base import Ref
from robofleet.server.schemas.logs import LogFilter, LogRead
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.lookup import find, scoped
from robofleet.server.services.access.robot_scope import own_rows


class Filters(Protocol):
    """What list and tail filter on alike."""

    @property
    def robot(self) -> Ref | None: ...
    @property
    def process(self) -> Ref | None: ...
    @property
    def min_level(self) -> str | None: ...
    @property
    def search(self) -> str | None: ...


def own_lines(caller: Caller) -> list[ColumnElement[bool]]:
    """For a robot: only lines about itself or its jobs."""
    own = own_rows(LogRow, caller.robot_id) if caller.robot_id is not None else None
    return [] if own is None else [own]


def at_or_above(level: str) -> list[str]:
    """The level names as severe as `level` or more."""
    rank = LEVELS_BY_SEVERITY.index(LogLevel(level))
    return [item.value for item in LEVELS_BY_SEVERITY[rank:]]


def filter_conditions(
    session: Session, caller: Caller, query: Filters, job_ref: Ref | None, job_field: str
) -> list[ColumnElement[bool]]:
    """The account's lines the caller may read, narrowed by the filters; a filter naming an
    unknown (or, for a robot, foreign) object is NotFound."""
    conditions: list[ColumnElement[bool]] = [
        LogRow.account_id == caller.account_id,
        *own_lines(caller),
    ]
    if job_ref is not None:
        job = find(session, JobRow, caller, job_ref, entity="job", field=job_field)
        conditions.append(LogRow.job_id == job.id)
    if query.robot is not None:
        robot = find(session, RobotRow, caller, query.robot, entity="robot", field="Robot")
        conditions.append(LogRow.robot_id == robot.id)
    if query.process is not None:
        process = find(
            session, ProcessRow, caller, query.process, entity="process", field="Process"
        )
        versions = select(ProcessVersionRow.id).where(ProcessVersionRow.process_id == process.id)
        conditions.append(LogRow.process_version_id.in_(versions.scalar_subquery()))
    if query.min_level:
        conditions.append(LogRow.level.in_(at_or_above(query.min_level)))
    if query.search:
        conditions.append(LogRow.message.icontains(query.search, autoescape=True))
    return conditions


@dataclass(frozen=True)
class Page:
    lines: list[LogRead]
    next_cursor: str | None
    """Where the next page starts (a full page may be the last: the next is then empty)."""


def encode_cursor(ascending: bool, last_id: int) -> str:
    """Opaque to clients (send it back as given): the order and the last id of the page."""
    return f"{'a' if ascending else 'd'}{last_id}"


def decode_cursor(cursor: str) -> tuple[bool, int]:
    """(ascending, the id the last page ended at); InvalidInput for what this server did
    not give out."""
    text = cursor.strip()
    if text[:1] not in ("a", "d") or not text[1:].isdigit() or len(text) > 19:
        raise InvalidInput.for_field("Cursor", "is not a cursor this server gave out")
    return text[0] == "a", int(text[1:])


def read_log(runtime: Runtime, caller: Caller, guid: str) -> LogRead:
    caller.require(Screen.LOG, Action.READ)
    with runtime.db.read() as session:
        row = session.scalar(
            select(LogRow).where(
                LogRow.account_id == caller.account_id,
                LogRow.guid == guid.strip().lower(),
                *own_lines(caller),
            )
        )
        if row is None:
            raise NotFound("log line", guid)
        return LogRead.model_validate(row)


def list_logs(runtime: Runtime, caller: Caller, query: LogFilter) -> Page:
    """Newest first; with `AfterId`, oldest first from that id on (following a job). The
    cursor goes on in the order it was made in (Offset then skips lines after it); paging
    by id never shows a line twice."""
    caller.require(Screen.LOG, Action.READ)
    ascending = query.after_id is not None
    with runtime.db.read() as session:
        job_ref = query.job if query.job is not None else query.job_guid
        field = "Job" if query.job is not None else "JobGuid"
        conditions = filter_conditions(session, caller, query, job_ref, field)
        if query.level:
            conditions.append(LogRow.level == query.level)
        if query.since:
            conditions.append(LogRow.created_at >= query.since)
        if query.until:
            conditions.append(LogRow.created_at < query.until)
        if query.after_id is not None:
            conditions.append(LogRow.id > query.after_id)
        if query.cursor:  # empty: the first page
            ascending, last_id = decode_cursor(query.cursor)
            conditions.append(LogRow.id > last_id if ascending else LogRow.id < last_id)
        rows = list(
            session.scalars(
                select(LogRow)
                .where(*conditions)
                .order_by(LogRow.id if ascending else LogRow.id.desc())
                .offset(query.offset)
                .limit(query.count)
            )
        )
        lines = [LogRead.model_validate(row) for row in rows]
    full = len(rows) == query.count
    return Page(lines, encode_cursor(ascending, rows[-1].id) if full else None)


@dataclass(frozen=True)
class NamedPage:
    """A page of lines and the names of their robots, for a screen that shows lines."""

    page: Page
    robot_names: dict[int, str]
    """Robot id -> name, for the robots the caller may read (the rest keep their id)."""


def list_logs_named(runtime: Runtime, caller: Caller, query: LogFilter) -> NamedPage:
    """list_logs, and the names of the lines' robots when the caller may read robots (in
    the access folders the caller reaches)."""
    found = list_logs(runtime, caller, query)
    ids = {line.robot_id for line in found.lines if line.robot_id is not None}
    if not ids or not caller.principal.permissions.allows(Screen.ROBOT, Action.READ):
        return NamedPage(found, {})
    with runtime.db.read() as session:
        rows = session.execute(
            scoped(RobotRow, caller)
            .with_only_columns(RobotRow.id, RobotRow.name)
            .where(RobotRow.id.in_(ids))
        )
        return NamedPage(found, {robot_id: name for robot_id, name in rows})


def read_screenshot(
    runtime: Runtime, caller: Caller, guid: str
) -> tuple[Iterator[bytes], str, int | None]:
    """A line's screenshot: its bytes (in chunks), media type and size."""
    caller.require(Screen.LOG, Action.READ)
    with runtime.db.read() as session:
        row = session.execute(
            select(LogRow.screenshot_sha256, LogRow.screenshot_type).where(
                LogRow.account_id == caller.account_id,
                LogRow.guid == guid.strip().lower(),
                *own_lines(caller),
            )
        ).first()
    if row is None:
        raise NotFound("log line", guid)
    sha, kind = row
    if sha is None or kind is None:
        raise NotFound("screenshot of log line", guid)
    try:
        chunks = runtime.blobs.read(sha)
    except BlobMissing:
        raise NotFound("screenshot of log line", guid) from None
    return chunks, kind, runtime.blobs.size(sha)
