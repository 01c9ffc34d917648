"""Task rows in Sherpa's read shape (`created`, `started`, `postponed`, `parent_task`...)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from robofleet.server.db.tables import JobRow, QueueRow, TaskRow
from robofleet.server.db.task_statements import TaskLike, guids_by_id
from robofleet.server.domain.tasks import TaskStatus
from robofleet.server.schemas.base import sherpa_time
from robofleet.server.schemas.queues import TaskList, TaskRead
from robofleet.server.schemas.rendered import RenderedJson
from robofleet.server.schemas.sherpa_values import bit


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
        TaskRead(**_read_values(t, queues, jobs, parents, with_lease, _as_is, bool)) for t in tasks
    ]


def task_list_json(
    tasks: Sequence[TaskLike],
    *,
    with_lease: bool,
    queue_guids: dict[int, str],
    job_guids: dict[int, str],
    parent_guids: dict[int, str],
) -> RenderedJson:
    """`TaskList(tasks=task_reads(None, tasks, ...))` as the JSON its serialiser renders,
    rendered from plain values (a take of 50 answers 50 tasks: building and serialising the
    models was a sixth of a batched drain's server CPU). A value orjson refuses (never one
    read back from a store) is rendered by the models instead."""
    values = [
        _read_values(t, queue_guids, job_guids, parent_guids, with_lease, sherpa_time, bit)
        for t in tasks
    ]
    try:
        return RenderedJson(orjson.dumps({"tasks": values}))
    except TypeError:  # orjson.JSONEncodeError is one
        reads = task_reads(
            None,
            tasks,
            with_lease=with_lease,
            queue_guids=queue_guids,
            job_guids=job_guids,
            parent_guids=parent_guids,
        )
        return RenderedJson(TaskList(tasks=reads).model_dump_json(by_alias=True).encode())


def ok_results_json(guids: Sequence[str]) -> RenderedJson:
    """`ItemResults` of `guids`, each ok, as its serialiser renders it."""
    results = [
        {"guid": guid, "ok": True, "code": "", "message": "", "task": None} for guid in guids
    ]
    return RenderedJson(orjson.dumps({"results": results}))


def _as_is(value: datetime | None) -> datetime | None:
    return value


def _read_values(
    t: TaskLike,
    queues: dict[int, str],
    jobs: dict[int, str],
    parents: dict[int, str],
    with_lease: bool,
    time: Callable[[datetime | None], Any],
    flag: Callable[[bool], Any],
) -> dict[str, Any]:
    """A task's fields in TaskRead's order: its times and flag as `time` and `flag` give
    them (as they are for the model, as its serialisers render them for JSON)."""
    return {
        "id": t.id,
        "guid": t.guid,
        "account_id": t.account_id,
        "queue_id": t.queue_id,
        "queue_guid": queues[t.queue_id],
        "name": t.name,
        "description": t.description,
        "comment": t.comment,
        "parameters": t.parameters,
        "output": t.output,
        "error": (
            {"type": t.error_type, "message": t.error_message, "details": t.error_details}
            if t.error_type or t.error_message
            else None
        ),
        "priority": t.priority,
        "tags": t.tags.strip(";"),
        "status": t.status,
        "status_name": TaskStatus(t.status).label,
        "postponed": time(t.postponed_until),
        "deadline": time(t.deadline),
        "job_id": t.job_id,
        "job_guid": jobs.get(t.job_id) if t.job_id else None,
        "retries": t.retries,
        "parent_task": parents.get(t.parent_task_id) if t.parent_task_id else None,
        "lease_id": t.lease_id if with_lease else None,
        "lease_expires_at": time(t.lease_expires_at) if with_lease else None,
        "created": time(t.created_at),
        "started": time(t.started_at),
        "updated": time(t.updated_at),
        "finished": time(t.finished_at),
        "is_deleted": flag(t.is_deleted),
    }


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
