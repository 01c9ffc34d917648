"""The lean log batch's statements (services.logs.lean_batch), built once per dialect.

A robot's batch of lines, all naming its own job (or none), goes in as rows of `logs` and
sets the job's `last_message`, as services.logs.ingest writes them. The job named must be the
robot's own, of its account (services.access.robot_scope.own_jobs, as logs.refs.ids_for looks
it up), and a process version named with it must be that job's version; the lookup is one
select (`refs`) both stores share.

PostgreSQL: one statement in autocommit on the driver pool: the lookup, the guarded INSERT …
SELECT FROM jsonb_to_recordset(…) (rows in the batch's order), the job's last message and the
live tails' NOTIFY, each only when the lookup holds (`ok`, returned so the caller can fall back
when it does not: then nothing was written). SQLite: the lookup, an executemany INSERT and the job's
UPDATE inside the group writer's turn (db.raw_write).

Bound parameters: p_account, p_robot, p_now (UTC-aware), p_job_guid and p_version_guid
(normalised GUIDs, "" when not named), p_job_named and p_version_named; on PostgreSQL the
lines as p_lines, a JSON array of objects (n, guid, level, message, fields as JSON text,
time), then p_last_message, p_announce, p_channel and p_payload.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Insert,
    Integer,
    Select,
    String,
    Text,
    Update,
    and_,
    bindparam,
    cast,
    column,
    exists,
    func,
    insert,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect as SADialect

from robofleet.server.db.core_tables import JOBS, LOGS, VERSIONS
from robofleet.server.db.prepared import PreparedStatement

LINE_COLUMNS = (
    "guid",
    "account_id",
    "robot_id",
    "process_version_id",
    "job_id",
    "level",
    "message",
    "fields",
    "screenshot_sha256",
    "screenshot_type",
    "created_at",
    "updated_at",
)
"""The columns a line writes (also services.logs.ingest's COPY and INSERT)."""


def _now() -> Any:
    return bindparam("p_now", type_=LOGS.c.updated_at.type)


def refs() -> Select[Any]:
    """(job id, version id) of the robot's own job named, and of the version named with it
    when it is that job's (else NULL); no row when the job is not the robot's."""
    version_join = and_(
        VERSIONS.c.id == JOBS.c.process_version_id,
        VERSIONS.c.guid == bindparam("p_version_guid", type_=String()),
        VERSIONS.c.account_id == bindparam("p_account"),
    )
    return (
        select(JOBS.c.id.label("job_id"), VERSIONS.c.id.label("version_id"))
        .select_from(JOBS.outerjoin(VERSIONS, version_join))
        .where(
            JOBS.c.guid == bindparam("p_job_guid", type_=String()),
            JOBS.c.account_id == bindparam("p_account"),
            JOBS.c.robot_id == bindparam("p_robot"),
        )
    )


def sqlite_insert() -> Insert:
    """One line (executemany): `fields` bound as the JSON text ingest stores, times as
    SQLAlchemy's SQLite text."""
    values: dict[str, Any] = {name: bindparam(name) for name in LINE_COLUMNS}
    values["fields"] = bindparam("fields", type_=Text())
    values["created_at"] = bindparam("created_at", type_=LOGS.c.created_at.type)
    values["updated_at"] = bindparam("updated_at", type_=LOGS.c.updated_at.type)
    return insert(LOGS).values(values)


def last_message() -> Update:
    """The job's newest message; updated_at as the ORM's onupdate would set it."""
    return (
        update(JOBS)
        .where(JOBS.c.id == bindparam("p_job"))
        .values(last_message=bindparam("p_last_message", type_=Text()), updated_at=_now())
    )


def postgres_batch() -> Select[Any]:
    """Returns one row: (ok, lines inserted)."""
    found = refs().cte("refs")
    usable = (
        select(found.c.job_id, found.c.version_id)
        .where(
            or_(
                not_(bindparam("p_version_named", type_=Boolean())),
                found.c.version_id.is_not(None),
            )
        )
        .cte("usable")
    )
    ok = or_(
        not_(bindparam("p_job_named", type_=Boolean())),
        exists(select(usable.c.job_id)),
    )
    job_id = select(usable.c.job_id).scalar_subquery()
    version_id = select(usable.c.version_id).scalar_subquery()
    # The lines as one JSON array of objects, not an array per column: the driver encodes a
    # text array element by element in Python (115 us for 7 lines, measured), JSON is one
    # string. Each line carries its place `n`: the rows are inserted in the batch's order.
    lines = (
        func.jsonb_to_recordset(cast(bindparam("p_lines", type_=Text()), JSONB))
        .table_valued(
            column("n", Integer()),
            column("guid", String()),
            column("level", String()),
            column("message", Text()),
            column("fields", Text()),
            column("time", DateTime(timezone=True)),
        )
        .render_derived("lines", with_types=True)
    )
    rows = (
        select(
            lines.c.guid,
            bindparam("p_account", type_=LOGS.c.account_id.type),
            bindparam("p_robot", type_=LOGS.c.robot_id.type),
            version_id,
            job_id,
            lines.c.level,
            lines.c.message,
            lines.c.fields.cast(LOGS.c.fields.type),
            lines.c.time,
            _now(),
        )
        .where(ok)
        .order_by(lines.c.n)
    )
    inserted = (
        insert(LOGS)
        # A line with a screenshot is never lean: those columns stay NULL.
        .from_select([name for name in LINE_COLUMNS if not name.startswith("screenshot")], rows)
        .returning(LOGS.c.id)
        .cte("inserted")
    )
    touched = (
        update(JOBS)
        .where(JOBS.c.id == job_id)
        .values(last_message=bindparam("p_last_message", type_=Text()), updated_at=_now())
        .returning(JOBS.c.id)
        .cte("touched")
    )
    announced = (
        select(
            func.pg_notify(
                bindparam("p_channel", type_=Text()), bindparam("p_payload", type_=Text())
            )
        )
        .where(ok, bindparam("p_announce", type_=Boolean()))
        .cte("announced")
    )
    count = select(func.count()).select_from(inserted).scalar_subquery()
    # Data-modifying CTEs run whether read or not; `announced` is a SELECT, so it is read.
    noticed = select(func.count()).select_from(announced).scalar_subquery()
    updated = select(func.count()).select_from(touched).scalar_subquery()
    return select(
        ok.label("ok"), count.label("lines"), noticed.label("noticed"), updated.label("jobs")
    )


class LogStatements:
    """The lean log batch's statements prepared for one dialect."""

    def __init__(self, dialect: SADialect) -> None:
        self.postgres = dialect.name == "postgresql"
        self.refs = PreparedStatement(refs(), dialect)
        self.last_message = PreparedStatement(last_message(), dialect)
        if self.postgres:
            self.batch = PreparedStatement(postgres_batch(), dialect)
        else:
            self.insert = PreparedStatement(sqlite_insert(), dialect)


@cache
def log_statements(dialect: SADialect) -> LogStatements:
    return LogStatements(dialect)
