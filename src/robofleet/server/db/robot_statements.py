"""The lean heartbeat's statements (services.jobs.lean_heartbeat), built once per dialect.

The heartbeat of a robot that holds no job writes the robot's activity columns, renews its
task leases that belong to no job, and reads whether it is switched on and whether a job
waits for it. That is one UPDATE ... RETURNING of the robot row, guarded so it changes
nothing when the robot holds a job (the session path then reconciles): on PostgreSQL with
the lease renewal in the same statement (a CTE, one round trip in autocommit); on SQLite,
inside the group writer's transaction, with the leases renewed row by row after it (SQLite
stores timestamps as text SQLAlchemy formats, so the new expiry is computed in Python, as
services.tasks.leases.renew_for_robot computes it).

Bound parameters: p_robot, p_account, p_now (the heartbeat time, UTC-aware) and the
activity values p_status, p_machine, p_ip, p_mac, p_version, each None to keep the
stored value.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    Select,
    String,
    Update,
    bindparam,
    exists,
    false,
    func,
    not_,
    select,
    update,
)
from sqlalchemy.engine import Dialect as SADialect

from robofleet.contract import TaskStatus
from robofleet.server.db.base import literal_int
from robofleet.server.db.claims import first_pending_job, held_by_robot
from robofleet.server.db.core_tables import ROBOTS
from robofleet.server.db.prepared import PreparedStatement
from robofleet.server.db.tables.queues import TASK_TABLE as TASKS

DEFAULT_LEASE_SECONDS = 300
"""A lease without its length set renews for this long (services.tasks.leases)."""


def _now() -> Any:
    return bindparam("p_now", type_=ROBOTS.c.last_heartbeat_at.type)


def _kept_unless(name: str, column: Any, type_: Any) -> Any:
    """The new value, or the stored one when the request left it out (bound as None)."""
    return func.coalesce(bindparam(name, type_=type_), column)


def _robot_update() -> Update:
    """The robot's activity columns, only for a live robot of the account holding no job."""
    return (
        update(ROBOTS)
        .where(
            ROBOTS.c.id == bindparam("p_robot"),
            ROBOTS.c.account_id == bindparam("p_account"),
            ROBOTS.c.is_deleted == false(),
            not_(exists().where(held_by_robot())),
        )
        .values(
            last_heartbeat_at=_now(),
            # The ORM's onupdate, written out: a prepared statement runs no column defaults.
            updated_at=_now(),
            status=_kept_unless("p_status", ROBOTS.c.status, Integer()),
            machine=_kept_unless("p_machine", ROBOTS.c.machine, String()),
            ip=_kept_unless("p_ip", ROBOTS.c.ip, String()),
            mac=_kept_unless("p_mac", ROBOTS.c.mac, String()),
            agent_version=_kept_unless("p_version", ROBOTS.c.agent_version, String()),
        )
    )


def _job_waits() -> Any:
    return first_pending_job().scalar_subquery().is_not(None).label("job_waits")


def _renewable(robot_id: Any) -> list[Any]:
    """The robot's leases a heartbeat naming no running job renews: those of no job."""
    return [
        TASKS.c.lease_robot_id == robot_id,
        TASKS.c.status == literal_int(TaskStatus.IN_PROGRESS),
        TASKS.c.job_id.is_(None),
    ]


def _sqlite_heartbeat() -> Update:
    """Returns (is_active, a job waits, the robot holds renewable leases)."""
    leases = exists().where(*_renewable(bindparam("p_robot")))
    return _robot_update().returning(ROBOTS.c.is_active, _job_waits(), leases.label("leases"))


def _sqlite_leases() -> Select[Any]:
    return select(TASKS.c.id, TASKS.c.lease_seconds).where(*_renewable(bindparam("p_robot")))


def _sqlite_extend() -> Update:
    return (
        update(TASKS)
        .where(TASKS.c.id == bindparam("p_task"))
        .values(lease_expires_at=bindparam("p_expires", type_=TASKS.c.lease_expires_at.type))
    )


def postgres_heartbeat() -> Select[Any]:
    """Returns (is_active, a job waits, leases renewed), all in one statement."""
    robot = _robot_update().returning(ROBOTS.c.id, ROBOTS.c.is_active).cte("robot")
    seconds = func.coalesce(func.nullif(TASKS.c.lease_seconds, 0), DEFAULT_LEASE_SECONDS)
    expires = bindparam("p_now", type_=DateTime(timezone=True)) + func.make_interval(
        0, 0, 0, 0, 0, 0, seconds
    )
    renewed = (
        update(TASKS)
        .where(*_renewable(robot.c.id))
        .values(lease_expires_at=expires)
        .returning(TASKS.c.id)
        .cte("renewed")
    )
    count = select(func.count()).select_from(renewed).scalar_subquery()
    return select(robot.c.is_active, _job_waits(), count.label("renewed")).select_from(robot)


class HeartbeatStatements:
    """The lean heartbeat's statements prepared for one dialect."""

    def __init__(self, dialect: SADialect) -> None:
        self.postgres = dialect.name == "postgresql"
        if self.postgres:
            self.heartbeat = PreparedStatement(postgres_heartbeat(), dialect)
        else:
            self.heartbeat = PreparedStatement(_sqlite_heartbeat(), dialect)
        self.leases = PreparedStatement(_sqlite_leases(), dialect)
        self.extend = PreparedStatement(_sqlite_extend(), dialect)


@cache
def heartbeat_statements(dialect: SADialect) -> HeartbeatStatements:
    return HeartbeatStatements(dialect)
