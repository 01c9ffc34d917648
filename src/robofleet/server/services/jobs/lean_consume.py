"""consumeNextJob's common case without the ORM: a robot calling with its own credentials,
switched on, holding no job, given a job of no Robocorp version and no default task (or told
that none waits).

The session path (robot_protocol.session_consume_next_job) loads the robot, its held jobs and
the picked job as ORM objects; in the common case that comes down to writing the robot's
heartbeat time (Ready over Disconnected), claiming the job the dispatch order picks and
answering its documents. That is one statement on PostgreSQL and a few in the group writer's
turn on SQLite (db.consume_statements), whose checks decide BEFORE anything is written
whether this path answers: anything else (robot not found or deleted, another robot named, a
key's or user's call, switched off, busy, a Robocorp job, a default task) returns None with
nothing changed, and the session path answers it. A job is never claimed twice: where the
lean path claims, it answers.

Side effects are the session path's: a claim announces nothing (no wake-up), changes no cached
row (the robot's heartbeat columns are activity columns: runtime.caches skips them; jobs are
cached nowhere) and is not audited (db.system_actors.ROBOT_PROTOCOL). The version document is
put in runtime.documents as the session path puts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from robofleet.contract import ConsumeCode
from robofleet.server.db.base import utcnow
from robofleet.server.db.consume_statements import (
    JOB_COLUMNS,
    VERSION_COLUMNS,
    ConsumeStatements,
    awkward,
    consume_statements,
)
from robofleet.server.db.driver import driver_write
from robofleet.server.db.prepared import DBAPIConnection
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.robots import ConsumeRequest, ConsumeResponse
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.jobs.views import (
    NO_DEFAULT_TASK,
    robot_documents,
    version_document_of,
)

_JOB_WIDTH = len(JOB_COLUMNS)
_WIDTH = _JOB_WIDTH + len(VERSION_COLUMNS)


@dataclass(frozen=True)
class ClaimedJob:
    """The job's values the Job document names (views.RobotJob), as the statements read them."""

    id: int
    guid: str
    status: int
    priority: int
    source: str
    job_type: int
    parameters: dict[str, Any]
    stop_after: datetime | None
    abort_after: datetime | None
    created_at: datetime
    process_version_id: int
    task_id: int | None


def lean_values(caller: Caller | None, robot_guid: str | None) -> dict[str, Any] | None:
    """The statements' values for a robot's own call, or None: the session path answers
    (it also refuses a RobotGUID naming another robot than the credentials)."""
    if caller is None:
        return None
    principal = caller.principal
    if principal.robot_id is None:
        return None
    if robot_guid and robot_guid.strip().lower() != principal.guid:
        return None
    return {"p_robot": principal.robot_id, "p_account": principal.account_id, "p_now": utcnow()}


def _answer(runtime: Runtime, generation: int, row: tuple[Any, ...] | None) -> ConsumeResponse:
    """The session path's answer for the job `row` claimed (JOB_COLUMNS, VERSION_COLUMNS),
    or for no job."""
    if row is None:
        return ConsumeResponse(
            consume_job_error_code=ConsumeCode.NO_NEW_JOB, error_text="no new job"
        )
    job = ClaimedJob(*row[:_JOB_WIDTH])
    version = version_document_of(row[_JOB_WIDTH:_WIDTH])
    runtime.documents.put(job.process_version_id, version, generation=generation)
    job_doc, version_doc = robot_documents(job, version)
    return ConsumeResponse(
        consume_job_error_code=ConsumeCode.JOB_GIVEN,
        job=job_doc,
        process_version=version_doc,
        task=NO_DEFAULT_TASK,
    )


def lean_consume(
    runtime: Runtime, caller: Caller | None, data: ConsumeRequest
) -> ConsumeResponse | None:
    """The answer of the session path for the common case, or None (nothing written) to
    take that path. On a thread: SQLite's group writer, or a PostgreSQL autocommit
    connection."""
    values = lean_values(caller, data.robot_guid)
    if values is None:
        return None
    statements = consume_statements(runtime.db.engine.dialect)
    generation = runtime.documents.generation
    with driver_write(runtime.db) as connection:
        if statements.postgres:
            rows = statements.consume.run(connection, values)
            if not rows:
                return None
            return _answer(runtime, generation, _postgres_job(rows[0]))
        found = _sqlite_claim(statements, connection, values)
    if found is None:
        return None
    return _answer(runtime, generation, found[0])


async def consume_on_driver(
    runtime: Runtime, caller: Caller | None, data: ConsumeRequest
) -> ConsumeResponse | None:
    """lean_consume on PostgreSQL's async driver pool (db.driver_pool), on the event loop. None
    where there is no pool (SQLite) or the session path answers (the statement then wrote
    nothing: that path need not, and must not, try the lean statement again)."""
    pool = runtime.driver_pool
    values = lean_values(caller, data.robot_guid) if pool is not None else None
    if pool is None or values is None:
        return None
    statements = consume_statements(runtime.db.engine.dialect)
    assert statements.postgres, "the driver pool is PostgreSQL's"
    generation = runtime.documents.generation
    rows = await pool.run(statements.consume, values)
    if not rows:
        return None
    return _answer(runtime, generation, _postgres_job(rows[0]))


def _postgres_job(row: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The job's and version's columns of the statement's row (after its `claimed` count),
    or None when no job waited."""
    claimed, job = row[0], row[1:]
    if job[0] is None:
        return None
    assert claimed == 1, "the gate let the statement answer: it claimed the job it picked"
    return job


def _sqlite_claim(
    statements: ConsumeStatements, connection: DBAPIConnection, values: dict[str, Any]
) -> tuple[tuple[Any, ...] | None] | None:
    """In the group writer's turn (no other writer): check, then write. None: the session
    path answers (nothing written); else a 1-tuple of the job claimed (None: no job)."""
    robot = statements.robot.run(connection, values)
    if not robot:
        return None
    is_active, held = robot[0]
    if not is_active or held:
        return None
    picked = statements.pick.run(connection, values)
    job = picked[0] if picked else None
    if job is not None:
        kind = job[_JOB_WIDTH + VERSION_COLUMNS.index("kind")]
        if awkward(kind, job[JOB_COLUMNS.index("task_id")]):
            return None
    statements.touch.run_no_rows(connection, values)
    if job is not None:
        statements.claim.run_no_rows(connection, {**values, "p_job": job[0]})
    return (job,)
