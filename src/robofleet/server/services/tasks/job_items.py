"""Tasks a job holds as Robocorp work items: taken for the job, and settled when it ends.

A Robocorp robot never releases an input it only read, and its outputs wait for its run to
end (Control Room's rule): so when a robocorp job ends, the tasks it still holds In Progress
become Success (job succeeded) or Failed (Application), and the outputs it created, held
Postponed with no date, become New (docs/decisions.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from robofleet.server.db.base import utcnow
from robofleet.server.db.system_actors import QUEUE_AUTO_CHANGE_STATUS
from robofleet.server.db.tables import JobRow, QueueRow, TaskRow
from robofleet.server.domain.refs import new_guid
from robofleet.server.domain.tasks import TaskStatus
from robofleet.server.services.tasks.state import Change, change_task_status


def hold_for_job(
    session: Session, task: TaskRow, queue: QueueRow, job: JobRow, change: Change, now: datetime
) -> None:
    """New -> In Progress with a lease tied to the job and its robot (renewed by the robot's
    heartbeat, services.tasks.leases.renew_for_robot)."""
    change_task_status(session, task, queue, TaskStatus.IN_PROGRESS, change, now=now)
    task.job_id = job.id
    task.lease_id = new_guid()
    task.lease_owner = f"job:{job.guid}"
    task.lease_seconds = queue.lease_seconds
    follow_job(task, job, now)


def follow_job(task: TaskRow, job: JobRow, now: datetime) -> None:
    """The lease belongs to the robot that runs the job now, from now."""
    task.lease_robot_id = job.robot_id
    task.lease_expires_at = now + timedelta(seconds=task.lease_seconds or 300)


def settle_job_items(session: Session, job: JobRow, succeeded: bool, outcome: str) -> None:
    now = utcnow()
    held = session.execute(
        select(TaskRow, QueueRow)
        .join(QueueRow, QueueRow.id == TaskRow.queue_id)
        .where(TaskRow.job_id == job.id, TaskRow.status == int(TaskStatus.IN_PROGRESS))
        .with_for_update()
    ).all()
    change = Change(QUEUE_AUTO_CHANGE_STATUS, f"job ended {outcome}; the robot had not released it")
    for task, queue in held:
        if succeeded:
            change_task_status(session, task, queue, TaskStatus.SUCCESS, change, now=now)
        else:
            task.error_type = "JobEnded"
            task.error_message = f"job {job.guid} ended {outcome}"
            change_task_status(session, task, queue, TaskStatus.FAILED_APPLICATION, change, now=now)
    waiting = session.execute(
        select(TaskRow, QueueRow)
        .join(QueueRow, QueueRow.id == TaskRow.queue_id)
        .where(
            TaskRow.job_id == job.id,
            TaskRow.status == int(TaskStatus.POSTPONED),
            TaskRow.postponed_until.is_(None),
            TaskRow.parent_task_id.is_not(None),
        )
        .with_for_update()
    ).all()
    released = Change(QUEUE_AUTO_CHANGE_STATUS, f"output of job {job.guid}, which ended {outcome}")
    for task, queue in waiting:
        change_task_status(session, task, queue, TaskStatus.NEW, released, now=now)
