"""Writing log lines: Sherpa's one-line create, and the agents' batches.

Batches that arrive together share one transaction (runtime.group_commit); each request is
answered once that transaction has committed. On PostgreSQL the rows go in with COPY (several
times faster than a multi-row INSERT); on SQLite with executemany. Log lines are not audited.
A robot's small batch for its own job goes around this path, in the front (logs.lean_batch);
this path stays the reference for every other batch."""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol
from weakref import WeakKeyDictionary

import orjson
from sqlalchemy import update
from sqlalchemy.orm import Session

from robofleet.server.db.base import utcnow
from robofleet.server.db.log_statements import LINE_COLUMNS
from robofleet.server.db.session import Database
from robofleet.server.db.system_actors import ROBOT_LOG_LINES
from robofleet.server.db.tables import JobRow, LogRow, ProcessVersionRow, RobotRow
from robofleet.server.domain.errors import InvalidInput, RateLimited
from robofleet.server.domain.images import decode_base64_image
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.domain.refs import new_guids
from robofleet.server.runtime import Runtime
from robofleet.server.runtime.group_commit import GroupCommit
from robofleet.server.runtime.rate_limit import retry_after_seconds
from robofleet.server.schemas.logs import LogCreate, LogCreated
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.logs.refs import ids_for, norm

LAST_MESSAGE_LENGTH: Final = 10_000
GROUP_ROWS: Final = 10_000
"""At most this many lines share one transaction (group commit); a bigger batch goes alone."""
GROUP_WRITERS: Final = 1
"""Transactions of lines written at once per server process. Two measured no faster than one
(bench/log_ingestion.py, docs/benchmarks.md): the server's CPU, not the commit, is the limit."""
COLUMNS: Final = LINE_COLUMNS
_COPY: Final = f"COPY {LogRow.__tablename__} ({', '.join(COLUMNS)}) FROM STDIN"
_INSERT: Final = (  # built from the constants above, no input
    f"INSERT INTO {LogRow.__tablename__} ({', '.join(COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('?' * len(COLUMNS))})"
)


class Line(Protocol):
    """A checked line: schemas.logs.LogLine or schemas.log_batch.BatchLine."""

    @property
    def robot_guid(self) -> str | None: ...
    @property
    def process_version_guid(self) -> str | None: ...
    @property
    def job_guid(self) -> str | None: ...
    @property
    def level(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def fields(self) -> dict[str, Any] | None: ...
    @property
    def time(self) -> datetime | None: ...
    @property
    def screenshot(self) -> str | None: ...


def create_logs(runtime: Runtime, caller: Caller, data: LogCreate) -> LogCreated:
    """Sherpa's create: one line answers its guid, `Lines` the count."""
    many = data.lines is not None
    if many and data.screenshot:
        # The body's own line is not stored when Lines is given; its fields are still held
        # to their rules, the image too.
        try:
            decode_base64_image(data.screenshot, runtime.settings.log_screenshot_max_bytes)
        except ValueError as exc:
            raise InvalidInput.for_field("Screenshot", str(exc)) from None
    guids = write_lines(
        runtime, caller, data.all_lines(), field_prefix="Lines" if many else "", named=[data]
    )
    return LogCreated(count=len(guids)) if many else LogCreated(guid=guids[0])


def ingest_batch(
    runtime: Runtime, caller: Caller, lines: Sequence[Line], *, rate_taken: bool = False
) -> LogCreated:
    """The agents' batch; `rate_taken`: the lean path (logs.lean_batch) has already taken
    the lines' rate tokens and left the batch to this path, which must not take them twice."""
    written = write_lines(runtime, caller, lines, field_prefix="Lines", rate_taken=rate_taken)
    return LogCreated(count=len(written))


def write_lines(
    runtime: Runtime,
    caller: Caller,
    lines: Sequence[Line],
    *,
    field_prefix: str,
    named: Sequence[object] = (),
    rate_taken: bool = False,
) -> list[str]:
    """Store the lines, all or none; their GUIDs in order. The objects `named` (the body of
    a create) name robots, jobs and versions that must exist too, lines or not."""
    caller.require(Screen.LOG, Action.CREATE)
    if not rate_taken:
        take_tokens(runtime, caller, len(lines))
    shots = _keep_screenshots(runtime, lines, field_prefix)
    now = utcnow()
    guids = new_guids(len(lines))
    refs = [*lines, *named]
    with ExitStack() as stack:
        lookup = _SessionOnDemand(runtime, stack)
        jobs = ids_for(lookup, caller, JobRow, "job", _guids(refs, "job_guid"))
        robots = ids_for(lookup, caller, RobotRow, "robot", _guids(refs, "robot_guid"))
        versions = ids_for(
            lookup,
            caller,
            ProcessVersionRow,
            "process version",
            _guids(refs, "process_version_guid"),
        )
    rows: list[tuple[Any, ...]] = []
    last_message: dict[int, str] = {}
    account, own_robot = caller.account_id, caller.robot_id
    for index, line in enumerate(lines):
        job_id = jobs.get(norm(line.job_guid) or "")
        robot_id = robots.get(norm(line.robot_guid) or "", own_robot)
        version_id = versions.get(norm(line.process_version_guid) or "")
        sha, kind = shots.get(index, (None, None))
        rows.append(
            (
                guids[index],
                account,
                robot_id,
                version_id,
                job_id,
                line.level,
                line.message,
                getattr(line, "fields_json", None) or line.fields or {},
                sha,
                kind,
                line.time or now,
                now,
            )
        )
        if job_id is not None:
            last_message[job_id] = line.message
    if rows or last_message:
        pending = _Pending(account, rows, last_message)
        _commits(runtime).submit(pending, len(rows), lambda group: _write(runtime, group))
    return guids


@dataclass(slots=True)
class _Pending:
    """One request's lines, ready to store."""

    account_id: int
    rows: list[tuple[Any, ...]]
    last_message: dict[int, str]


_groups: WeakKeyDictionary[Database, GroupCommit[_Pending]] = WeakKeyDictionary()
_groups_lock = threading.Lock()


def _commits(runtime: Runtime) -> GroupCommit[_Pending]:
    with _groups_lock:
        group = _groups.get(runtime.db)
        if group is None:
            group = _groups[runtime.db] = GroupCommit(max_weight=GROUP_ROWS, writers=GROUP_WRITERS)
        return group


def _write(runtime: Runtime, group: Sequence[_Pending]) -> None:
    """Several requests' lines in one transaction: one COPY (or INSERT), each job's newest
    message, one wake-up per account for live tails."""
    rows = [row for pending in group for row in pending.rows]
    last_message: dict[int, str] = {}
    for pending in group:
        last_message.update(pending.last_message)
    with runtime.db.write(actor=ROBOT_LOG_LINES) as session:
        if rows:
            _insert(session, rows)
        if last_message:
            # One statement for all jobs, in id order so two writers never wait on each other
            # in opposite orders.
            session.execute(
                update(JobRow),
                [
                    {"id": job_id, "last_message": message[:LAST_MESSAGE_LENGTH]}
                    for job_id, message in sorted(last_message.items())
                ],
            )
        if rows and runtime.log_wakeups is not None:
            for account in sorted({pending.account_id for pending in group if pending.rows}):
                runtime.log_wakeups.announce(session, account, None)


class _SessionOnDemand:
    """A read session opened on the first call only: most batches' lookups hit the cache."""

    def __init__(self, runtime: Runtime, stack: ExitStack) -> None:
        self._runtime = runtime
        self._stack = stack
        self._session: Session | None = None

    def __call__(self) -> Session:
        if self._session is None:
            self._session = self._stack.enter_context(self._runtime.db.read())
        return self._session


def _guids(lines: Sequence[object], attribute: str) -> set[str]:
    found: set[str] = set()
    for line in lines:
        guid = norm(getattr(line, attribute))
        if guid:
            found.add(guid)
    return found


def take_tokens(runtime: Runtime, caller: Caller, count: int) -> None:
    """A robot's lines count against its rate (per server process); a user's do not."""
    if caller.robot_id is None:
        return
    settings = runtime.settings
    wait = runtime.log_rate.take(
        caller.robot_id,
        count,
        rate=settings.log_lines_per_second_per_robot,
        burst=settings.log_burst_lines_per_robot,
    )
    if wait > 0:
        seconds = retry_after_seconds(wait)
        raise RateLimited(
            f"this robot writes more than {settings.log_lines_per_second_per_robot:g} log "
            f"lines a second; none of these {count} lines was stored: send them again in "
            f"{seconds} s (Retry-After)",
            retry_after=seconds,
        )


def _keep_screenshots(
    runtime: Runtime, lines: Sequence[Line], field_prefix: str
) -> dict[int, tuple[str, str]]:
    """Decode, check and store each line's screenshot: {line index: (sha256, media type)}.
    Kept before the lines' transaction, so a line never names a missing image."""
    shots: dict[int, tuple[str, str]] = {}
    limit = runtime.settings.log_screenshot_max_bytes
    for index, line in enumerate(lines):
        if not line.screenshot:
            continue
        where = f"{field_prefix}[{index}].Screenshot" if field_prefix else "Screenshot"
        try:
            data, kind = decode_base64_image(line.screenshot, limit)
        except ValueError as exc:
            raise InvalidInput.for_field(where, str(exc)) from None
        shots[index] = (store_image(runtime, data), kind)
    return shots


def store_image(runtime: Runtime, data: bytes) -> str:
    spooled = runtime.blobs.spool(io.BytesIO(data))
    try:
        runtime.blobs.keep(spooled)
    except BaseException:
        runtime.blobs.discard(spooled)
        raise
    return spooled.sha256


def _insert(session: Session, rows: list[tuple[Any, ...]]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        _copy(session, rows)
        return
    _executemany(session, rows)


def _sqlite_time(value: datetime) -> str:
    """A time as SQLAlchemy's SQLite DATETIME stores it (UTC, no zone: db.base.UtcDateTime)."""
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}"


def _executemany(session: Session, rows: list[tuple[Any, ...]]) -> None:
    """One prepared INSERT for all rows, values in the form SQLAlchemy's types store them
    (JSON text, SQLite times), without its per-row type processing."""
    values = []
    for row in rows:
        fields = row[7]
        if not isinstance(fields, str):
            fields = orjson.dumps(fields).decode() if fields else "{}"
        values.append((*row[:7], fields, *row[8:10], _sqlite_time(row[10]), _sqlite_time(row[11])))
    session.connection().exec_driver_sql(_INSERT, values)


def _copy(session: Session, rows: list[tuple[Any, ...]]) -> None:
    """COPY in text format inside the session's transaction; `fields` goes as JSON text."""
    driver = session.connection().connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(_COPY) as copy:
        for row in rows:
            fields = row[7]
            if not isinstance(fields, str):
                fields = orjson.dumps(fields).decode() if fields else "{}"
            copy.write_row((*row[:7], fields, *row[8:]))
