"""The lean consumeNextJob's statements (services.jobs.lean_consume), built once per dialect.

A robot with its own credentials, switched on and holding no job, asks for its next job: the
session path (robot_protocol.session_consume_next_job) writes its heartbeat time (and Ready
over Disconnected), picks the job claims.next_job_for_robot picks, and claims it with the
package of its version. Here that is:

- PostgreSQL: ONE data-modifying CTE in autocommit. A gate decides whether the lean path
  answers at all: the robot is the account's, live, switched on, holds no job, was not changed
  by another transaction while this statement waited for its lock (see `_gate`), and the
  picked job (if any) needs nothing the lean path does not do (a Robocorp version's run
  document, a default task). Closed, the statement changes NOTHING (the pick's row lock ends
  with it) and the session path answers; open, the robot row and the claim are written.
  The pick is `id = ANY(ARRAY(SELECT ... FOR UPDATE SKIP LOCKED))` (see
  db.task_statements.one_trip: an InitPlan, safe under a generic plan).
- SQLite: the same checks as separate statements inside the group writer's turn
  (Database.raw_write), which already excludes every other writer: read, decide, then write.

Both return the job's and its version's columns in JOB_COLUMNS order: the answer documents
are built from them as the session path builds them (services.jobs.views).

Bound parameters: p_robot, p_account, p_now (UTC-aware); the SQLite claim also p_job.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    Update,
    any_,
    bindparam,
    case,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect as SADialect

from robofleet.contract import RobotStatus
from robofleet.server.db.base import literal_int
from robofleet.server.db.claims import eligible_pending, held_by_robot
from robofleet.server.db.core_tables import JOBS, PROCESSES, ROBOTS, VERSIONS
from robofleet.server.db.prepared import PreparedStatement

ROBOCORP_KIND = "robocorp"
"""services.jobs.state.ROBOCORP_KIND (db may not import services): such a job's answer carries
a run document and may hold its first work item, which the session path does."""


JOB_COLUMNS = (
    "id",
    "guid",
    "status",
    "priority",
    "source",
    "job_type",
    "parameters",
    "stop_after",
    "abort_after",
    "created_at",
    "process_version_id",
    "task_id",
)
"""The job's columns the statements return, in this order, then VERSION_COLUMNS."""
VERSION_COLUMNS = (
    "guid",
    "id",
    "name",
    "process_guid",
    "process_name",
    "kind",
    "entry_point",
    "requirements",
    "sha256",
    "size",
    "file_name",
)
"""The version's columns, in the order of the ProcessVersion document's keys
(services.jobs.views.VERSION_DOCUMENT_KEYS)."""


def _now() -> Any:
    return bindparam("p_now", type_=ROBOTS.c.last_heartbeat_at.type)


def _job_and_version(*conditions: Any) -> Select[Any]:
    """JOB_COLUMNS then VERSION_COLUMNS of the jobs matching `conditions`."""
    return (
        select(
            *(JOBS.c[name] for name in JOB_COLUMNS),
            VERSIONS.c.guid.label("version_guid"),
            VERSIONS.c.id.label("version_id"),
            VERSIONS.c.name.label("version_name"),
            PROCESSES.c.guid.label("process_guid"),
            PROCESSES.c.name.label("process_name"),
            VERSIONS.c.kind,
            VERSIONS.c.entry_point,
            VERSIONS.c.requirements,
            VERSIONS.c.sha256,
            VERSIONS.c.size,
            VERSIONS.c.file_name,
        )
        .select_from(
            JOBS.join(VERSIONS, VERSIONS.c.id == JOBS.c.process_version_id).join(
                PROCESSES, PROCESSES.c.id == JOBS.c.process_id
            )
        )
        .where(*conditions)
    )


def _dispatch_order() -> tuple[Any, Any]:
    """claims.next_job_for_robot's order: best priority, then oldest."""
    return JOBS.c.priority.desc(), JOBS.c.id


def _live_robot() -> list[Any]:
    return [
        ROBOTS.c.id == bindparam("p_robot"),
        ROBOTS.c.account_id == bindparam("p_account"),
        ROBOTS.c.is_deleted == false(),
    ]


def _awkward(kind: Any, task_id: Any) -> Any:
    """A job the session path answers: a Robocorp run, or one with a default task."""
    return or_(kind == ROBOCORP_KIND, task_id.is_not(None))


def _touch_robot() -> Update:
    """The robot's heartbeat time, and Ready over Disconnected (as the session path)."""
    disconnected = int(RobotStatus.DISCONNECTED)
    return update(ROBOTS).values(
        last_heartbeat_at=_now(),
        # The ORM's onupdate, written out: a prepared statement runs no column defaults.
        updated_at=_now(),
        status=case(
            (ROBOTS.c.status == disconnected, int(RobotStatus.READY)), else_=ROBOTS.c.status
        ),
    )


def _claim_values() -> dict[str, Any]:
    package = (
        select(VERSIONS.c.sha256)
        .where(VERSIONS.c.id == JOBS.c.process_version_id)
        .scalar_subquery()
    )
    return {
        "claimed_at": _now(),
        "robot_id": bindparam("p_robot"),
        "package_sha256": package,
        "updated_at": _now(),
    }


def _gate(robot: Any, picked: Any) -> Select[Any]:
    """One row (the robot's id) when the lean path answers, none when the session path does.

    The robot row is locked FOR UPDATE, as the session path locks it, so two claims for one
    robot do not both pass its "holds no job" check. In one statement that check reads the
    statement's snapshot, taken before the lock was waited for: the lock returns the row as
    the other transaction left it, so a robot row whose `updated_at` differs from the
    snapshot's was written meanwhile (by a claim, or any other write), and the session path,
    whose statements each see the latest commits, answers instead."""
    snapshot = select(ROBOTS.c.updated_at).where(ROBOTS.c.id == bindparam("p_robot"))
    return select(robot.c.id).where(
        robot.c.is_active,
        robot.c.updated_at == snapshot.scalar_subquery(),
        not_(exists().where(held_by_robot())),
        not_(exists(select(picked.c.id).where(_awkward(picked.c.kind, picked.c.task_id)))),
    )


def postgres_consume() -> Select[Any]:
    """Returns no row (the session path answers: nothing was changed), or one row: a flag
    that the claim was written, then JOB_COLUMNS and VERSION_COLUMNS of the job claimed
    (all NULL when no job waits for the robot)."""
    robot = (
        select(ROBOTS.c.id, ROBOTS.c.is_active, ROBOTS.c.updated_at)
        .where(*_live_robot())
        .with_for_update()
        .cte("robot")
    )
    pick = (
        select(JOBS.c.id)
        .where(eligible_pending())
        .order_by(*_dispatch_order())
        # Written into the SQL: a bound LIMIT is unknown to a generic plan, which then
        # sorts every pending job of the account instead of walking ix_jobs_pick.
        .limit(literal_int(1))
        .with_for_update(skip_locked=True)
    )
    picked_ids = func.array(pick.scalar_subquery(), type_=ARRAY(Integer))
    picked = _job_and_version(JOBS.c.id == any_(picked_ids)).cte("picked")
    gate = _gate(robot, picked).cte("gate")
    open_ = exists(select(gate.c.id))
    touched = (
        _touch_robot()
        .where(ROBOTS.c.id == bindparam("p_robot"), open_)
        .returning(ROBOTS.c.id)
        .cte("touched")
    )
    claimed = (
        update(JOBS)
        .where(JOBS.c.id == any_(func.array(select(picked.c.id).scalar_subquery())), open_)
        .values(**_claim_values())
        .returning(JOBS.c.id)
        .cte("claimed")
    )
    written = select(func.count()).select_from(claimed).scalar_subquery()
    return select(written.label("claimed"), *picked.c).select_from(
        touched.outerjoin(picked, picked.c.id.is_not(None))
    )


def _sqlite_robot() -> Select[Any]:
    """(is_active, holds a job) of the account's live robot."""
    held = exists().where(held_by_robot())
    return select(ROBOTS.c.is_active, held.label("held")).where(*_live_robot())


def _sqlite_pick() -> Select[Any]:
    return _job_and_version(eligible_pending()).order_by(*_dispatch_order()).limit(literal_int(1))


class ConsumeStatements:
    """The lean consume's statements prepared for one dialect."""

    def __init__(self, dialect: SADialect) -> None:
        self.postgres = dialect.name == "postgresql"
        if self.postgres:
            self.consume = PreparedStatement(postgres_consume(), dialect)
        self.robot = PreparedStatement(_sqlite_robot(), dialect)
        self.pick = PreparedStatement(_sqlite_pick(), dialect)
        self.touch = PreparedStatement(
            _touch_robot().where(ROBOTS.c.id == bindparam("p_robot")), dialect
        )
        self.claim = PreparedStatement(
            update(JOBS).where(JOBS.c.id == bindparam("p_job")).values(**_claim_values()), dialect
        )


@cache
def consume_statements(dialect: SADialect) -> ConsumeStatements:
    return ConsumeStatements(dialect)


def awkward(kind: str, task_id: int | None) -> bool:
    """_awkward on values read (SQLite decides in Python)."""
    return kind == ROBOCORP_KIND or task_id is not None
