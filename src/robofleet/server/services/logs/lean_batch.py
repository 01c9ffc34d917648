"""The agents' log batch without the ORM: a robot, with its own credentials, sending lines
for its own job or for none, as its log shipper does. It is the robot path's most frequent
write; the session path (logs.ingest) hops to a thread, queues the batch for a group commit
and writes it through an ORM session.

`plan` decides, from the lines alone, whether the batch is the common case: a robot's call,
at most MAX_LINES lines, no screenshot (its blob is stored first: the session path does
that), no robot but the caller named, every line naming the same job (or none) and the same
process version (or none, and none without a job). Then it checks the right and takes the
rate tokens, as the session path does first, and gives the rows to write. Anything else
returns None and nothing is taken: the session path answers.

The write (db.log_statements) looks the job up as the session path does (the robot's own,
of its account; a version named must be that job's, where the session path would also
accept any version of the robot's jobs), inserts the lines in order, sets the job's last
message and wakes the account's live tails after the commit. When the lookup fails it writes
nothing and returns None: the session path, told the tokens are taken, answers (its 404, or
a version of another of the robot's jobs).

Log lines are not audited, change no cached row, and count in no metric: there is nothing
else to do. The answer is the session path's: the count of lines stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Final

import orjson

from robofleet.server.db.base import utcnow
from robofleet.server.db.log_statements import log_statements
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.domain.refs import new_guids
from robofleet.server.runtime import Runtime
from robofleet.server.runtime.wakeups import ANY_ROBOT
from robofleet.server.schemas.logs import LogCreated
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.logs.ingest import LAST_MESSAGE_LENGTH, Line, take_tokens
from robofleet.server.services.logs.refs import norm

MAX_LINES: Final = 100
"""A bigger batch goes to the session path, whose COPY and group commit were measured for bulk
ingestion (bench/log_ingestion.py sends 500 lines a batch); the agents' usual batches are a
few lines. Not measured here: a limit to tune with that benchmark."""


@dataclass(frozen=True, slots=True)
class LeanBatch:
    """A batch the lean path writes: its rows' values, column by column."""

    account_id: int
    robot_id: int
    job_guid: str | None
    version_guid: str | None
    now: datetime
    guids: list[str]
    levels: list[str]
    messages: list[str]
    fields: list[str]
    """Each line's `fields` as the JSON text the session path stores."""
    times: list[datetime]


def _fields_text(line: Line) -> str:
    """As logs.ingest stores `fields`: the text parse_batch encoded, else the encoding."""
    text: str | None = getattr(line, "fields_json", None)
    if text:
        return text
    return orjson.dumps(line.fields).decode() if line.fields else "{}"


def _one(values: set[str | None]) -> tuple[bool, str | None]:
    if len(values) != 1:
        return False, None
    return True, next(iter(values))


def plan(runtime: Runtime, caller: Caller, lines: Sequence[Line]) -> LeanBatch | None:
    """The batch to write lean, its right checked and its rate tokens taken (a refusal is the
    session path's own error); None, with nothing taken, for anything else."""
    robot_id = caller.robot_id
    if robot_id is None or not lines or len(lines) > MAX_LINES:
        return None
    own = caller.principal.guid
    jobs: set[str | None] = set()
    versions: set[str | None] = set()
    for line in lines:
        if line.screenshot:
            return None
        robot = norm(line.robot_guid)
        if robot is not None and robot != own:
            return None  # another robot's GUID: the session path's 404
        jobs.add(norm(line.job_guid))
        versions.add(norm(line.process_version_guid))
    one_job, job = _one(jobs)
    one_version, version = _one(versions)
    if not (one_job and one_version) or (job is None and version is not None):
        return None
    caller.require(Screen.LOG, Action.CREATE)
    take_tokens(runtime, caller, len(lines))
    now = utcnow()
    return LeanBatch(
        account_id=caller.account_id,
        robot_id=robot_id,
        job_guid=job,
        version_guid=version,
        now=now,
        guids=new_guids(len(lines)),
        levels=[line.level for line in lines],
        messages=[line.message for line in lines],
        fields=[_fields_text(line) for line in lines],
        times=[line.time or now for line in lines],
    )


def _refs_values(batch: LeanBatch) -> dict[str, Any]:
    return {
        "p_account": batch.account_id,
        "p_robot": batch.robot_id,
        "p_job_guid": batch.job_guid or "",
        "p_version_guid": batch.version_guid or "",
        "p_job_named": batch.job_guid is not None,
        "p_version_named": batch.version_guid is not None,
    }


def _last_message(batch: LeanBatch) -> str:
    """Every line names the job: the newest message is the last line's."""
    return batch.messages[-1][:LAST_MESSAGE_LENGTH]


def _payload(batch: LeanBatch) -> str:
    """The live tails' wake-up, as runtime.log_wakeups.announce words it (any robot)."""
    return f"{batch.account_id}:{ANY_ROBOT}"


def _lines_json(batch: LeanBatch) -> str:
    """The lines as db.log_statements.postgres_batch reads them (a time without a zone is
    UTC, as the columns' own conversion takes it)."""
    lines = [
        {"n": n, "guid": guid, "level": level, "message": message, "fields": fields, "time": time}
        for n, (guid, level, message, fields, time) in enumerate(
            zip(batch.guids, batch.levels, batch.messages, batch.fields, batch.times, strict=True)
        )
    ]
    return orjson.dumps(lines, option=orjson.OPT_NAIVE_UTC).decode()


async def write_on_driver(runtime: Runtime, batch: LeanBatch) -> LogCreated | None:
    """PostgreSQL: one statement on the driver pool (the loop); its NOTIFY goes out with
    its commit, as the session path's does with its transaction's."""
    pool = runtime.driver_pool
    assert pool is not None, "the driver pool is PostgreSQL's"
    statements = log_statements(runtime.db.engine.dialect)
    wakeups = runtime.log_wakeups
    values = _refs_values(batch)
    values.update(
        p_now=batch.now,
        p_lines=_lines_json(batch),
        p_last_message=_last_message(batch),
        p_announce=wakeups is not None,
        p_channel=wakeups.channel if wakeups is not None else "",
        p_payload=_payload(batch),
    )
    rows = await pool.run(statements.batch, values)
    if not rows[0][0]:
        return None
    return LogCreated(count=len(batch.guids))


def write_raw(runtime: Runtime, batch: LeanBatch) -> LogCreated | None:
    """SQLite: the lookup, the lines (one executemany) and the job's last message in the
    group writer's turn; the tails are woken after the group's COMMIT."""
    statements = log_statements(runtime.db.engine.dialect)
    job_id: int | None = None
    version_id: int | None = None
    with runtime.db.raw_write() as write:
        connection = write.connection
        if batch.job_guid is not None:
            found = statements.refs.run(connection, _refs_values(batch))
            if not found:
                return None
            job_id, version_id = found[0]
            if batch.version_guid is not None and version_id is None:
                return None
        rows = [
            {
                "guid": guid,
                "account_id": batch.account_id,
                "robot_id": batch.robot_id,
                "process_version_id": version_id,
                "job_id": job_id,
                "level": level,
                "message": message,
                "fields": fields,
                "screenshot_sha256": None,
                "screenshot_type": None,
                "created_at": time,
                "updated_at": batch.now,
            }
            for guid, level, message, fields, time in zip(
                batch.guids, batch.levels, batch.messages, batch.fields, batch.times, strict=True
            )
        ]
        statements.insert.run_many(connection, rows)
        if job_id is not None:
            statements.last_message.run_no_rows(
                connection,
                {"p_job": job_id, "p_last_message": _last_message(batch), "p_now": batch.now},
            )
        wakeups = runtime.log_wakeups
        if wakeups is not None:
            write.after_commit.append(partial(wakeups.wake, batch.account_id, ANY_ROBOT))
    return LogCreated(count=len(batch.guids))
