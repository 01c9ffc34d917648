"""What a robot taking a Robocorp job gets besides the job: the `Robocorp` object of the Job
document (docs/robot-protocol.md), whose token opens the /robocorp API for this job."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from robofleet.contract import RobocorpField
from robofleet.server.db.base import utcnow
from robofleet.server.db.tables import AccountRow, JobRow, QueueRow, TaskRow
from robofleet.server.domain.tasks import TaskStatus
from robofleet.server.runtime import Runtime
from robofleet.server.runtime.job_tokens import JobClaim
from robofleet.server.services.jobs.state import ROBOCORP_KIND
from robofleet.server.services.tasks.job_items import follow_job, hold_for_job
from robofleet.server.services.tasks.state import Change


def robocorp_document(
    runtime: Runtime, session: Session, job: JobRow, version_doc: dict[str, Any]
) -> dict[str, str] | None:
    """None for other kinds. The job's default task is the run's first work item
    (RC_WORKITEM_ID): a New one is taken for the job now, as Control Room reserves it
    before the robot starts."""
    if version_doc["Kind"] != ROBOCORP_KIND:
        return None
    account = session.get(AccountRow, job.account_id)
    assert account is not None
    task = session.get(TaskRow, job.task_id) if job.task_id is not None else None
    if task is not None and task.status == int(TaskStatus.NEW):
        queue = session.get(QueueRow, task.queue_id)
        assert queue is not None
        change = Change("robot protocol", f"first work item of job {job.guid}")
        hold_for_job(session, task, queue, job, change, utcnow())
    elif task is not None and task.status == int(TaskStatus.IN_PROGRESS) and task.job_id == job.id:
        # Held since an earlier take of this job by another robot: the lease follows the job
        # to the robot that runs it now, whose heartbeat renews it.
        follow_job(task, job, utcnow())
    return {
        RobocorpField.TOKEN: runtime.job_tokens.issue(JobClaim(job.guid, account.guid)),
        RobocorpField.WORKSPACE_ID: account.guid,
        RobocorpField.PROCESS_ID: version_doc["ProcessGUID"],
        RobocorpField.PROCESS_RUN_ID: job.guid,
        RobocorpField.ACTIVITY_RUN_ID: job.guid,
        RobocorpField.WORK_ITEM_ID: task.guid if task is not None and not task.is_deleted else "",
    }
