"""How many jobs, tasks and robots are in each status, for the metrics gauges: one GROUP BY
per kind, over every account (the metrics endpoint is the operator's, not a tenant's).

Each count is grouped by the indexed ids first and joined to the names after, so the big
table is read once (tasks: an index-only scan of ix_tasks_queue_status)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from robofleet.server.db.tables import AccountRow, JobRow, ProcessRow, QueueRow, RobotRow, TaskRow


@dataclass(frozen=True)
class StatusCount:
    account: str
    """The account's login."""
    owner: str
    """The queue (tasks) or process (jobs) the rows belong to; "" for robots."""
    status: int | None
    """None for a queue without tasks."""
    count: int


def task_counts(session: Session) -> list[StatusCount]:
    per_queue = (
        select(TaskRow.queue_id, TaskRow.status, func.count().label("n"))
        .group_by(TaskRow.queue_id, TaskRow.status)
        .subquery()
    )
    # Every live queue, an empty one too (status None: a count of nothing).
    rows = session.execute(
        select(AccountRow.login, QueueRow.name, per_queue.c.status, per_queue.c.n)
        .select_from(QueueRow)
        .outerjoin(per_queue, per_queue.c.queue_id == QueueRow.id)
        .join(AccountRow, AccountRow.id == QueueRow.account_id)
        .where(QueueRow.is_deleted.is_(False), AccountRow.is_deleted.is_(False))
    )
    return [StatusCount(login, queue, status, n or 0) for login, queue, status, n in rows]


def job_counts(session: Session) -> list[StatusCount]:
    per_process = (
        select(JobRow.process_id, JobRow.status, func.count().label("n"))
        .where(JobRow.is_deleted.is_(False))
        .group_by(JobRow.process_id, JobRow.status)
        .subquery()
    )
    rows = session.execute(
        select(AccountRow.login, ProcessRow.name, per_process.c.status, per_process.c.n)
        .join(ProcessRow, ProcessRow.id == per_process.c.process_id)
        .join(AccountRow, AccountRow.id == ProcessRow.account_id)
        .where(AccountRow.is_deleted.is_(False))
    )
    return [StatusCount(login, process, status, n) for login, process, status, n in rows]


def robot_counts(session: Session) -> list[StatusCount]:
    per_account = (
        select(RobotRow.account_id, RobotRow.status, func.count().label("n"))
        .where(RobotRow.is_deleted.is_(False))
        .group_by(RobotRow.account_id, RobotRow.status)
        .subquery()
    )
    rows = session.execute(
        select(AccountRow.login, per_account.c.status, per_account.c.n)
        .join(AccountRow, AccountRow.id == per_account.c.account_id)
        .where(AccountRow.is_deleted.is_(False))
    )
    return [StatusCount(login, "", status, n) for login, status, n in rows]
