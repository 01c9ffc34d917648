"""Task rows in Sherpa's read shape (`created`, `started`, `postponed`, `parent_task`...)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from robofleet.server.db.tables import JobRow, QueueRow, TaskRow
from robofleet.server.db.task_statements import TaskLike, guids_by_id
from robofleet.server.domain.tasks import TaskStatus
from robofleet.server.schemas.queues import TaskRead


def task_reads(
    session: Session | None,
    tasks: Sequence[TaskLike],
    *,
    with_lease: bool = False,
    queue_guids: dict[int, str] | None = None,
    job_guids: dict[int, str] | None = None,
    parent_guids: dict[int, str] | None = None,
) -> list[TaskRead]:
    """Tasks (loaded rows or RETURNING rows) as read shapes. The GUIDs given save lookups;
    without a session every GUID the tasks link to must be given."""
    queues = _guids(session, QueueRow, queue_guids, {t.queue_id for t in tasks})
    jobs = _guids(session, JobRow, job_guids, {t.job_id for t in tasks if t.job_id})
    parents = _guids(
        session, TaskRow, parent_guids, {t.parent_task_id for t in tasks if t.parent_task_id}
    )
    return [
        TaskRead(
            id=t.id,
            guid=t.guid,
            account_id=t.account_id,
            queue_id=t.queue_id,
            queue_guid=queues[t.queue_id],
            name=t.name,
            description=t.description,
            comment=t.comment,
            parameters=t.parameters,
            output=t.output,
            error=(
                {"type": t.error_type, "message": t.error_message, "details": t.error_details}
                if t.error_type or t.error_message
                else None
            ),
            priority=t.priority,
            tags=t.tags.strip(";"),
            status=t.status,
            status_name=TaskStatus(t.status).label,
            postponed=t.postponed_until,
            deadline=t.deadline,
            job_id=t.job_id,
            job_guid=jobs.get(t.job_id) if t.job_id else None,
            retries=t.retries,
            parent_task=parents.get(t.parent_task_id) if t.parent_task_id else None,
            lease_id=t.lease_id if with_lease else None,
            lease_expires_at=t.lease_expires_at if with_lease else None,
            created=t.created_at,
            started=t.started_at,
            updated=t.updated_at,
            finished=t.finished_at,
            is_deleted=t.is_deleted,
        )
        for t in tasks
    ]


def _guids(
    session: Session | None,
    model: type[JobRow | QueueRow | TaskRow],
    known: dict[int, str] | None,
    ids: set[int],
) -> dict[int, str]:
    known = known or {}
    missing = ids - set(known)
    if not missing:
        return known
    assert session is not None, "task_reads without a session needs every linked GUID"
    return {**known, **guids_by_id(session, model, missing)}


def task_read(session: Session, task: TaskRow, *, with_lease: bool = False) -> TaskRead:
    return task_reads(session, [task], with_lease=with_lease)[0]
