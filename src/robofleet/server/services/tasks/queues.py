"""Queues: settings, counts per status, and the queue rules the hot paths cache."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from robofleet.server.db import task_statements as statements
from robofleet.server.db.tables import QueueRow
from robofleet.server.domain.errors import Conflict
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.domain.queue_rules import QueueRules
from robofleet.server.domain.tasks import TaskStatus
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.base import GuidResponse
from robofleet.server.schemas.queues import QueueCreate, QueueRead, QueueUpdate, QueueWithCounts
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.folders import folder_id_for
from robofleet.server.services.access.lookup import ensure_name_free, find, scoped


def find_queue(
    session: Session,
    caller: Caller,
    ref: int | str,
    *,
    field: str = "Queue",
    for_update: bool = False,
) -> QueueRow:
    return find(session, QueueRow, caller, ref, entity="queue", field=field, for_update=for_update)


def rules_of(row: QueueRow) -> QueueRules:
    """The frozen snapshot of a queue's settings that the hot paths cache."""
    return QueueRules(
        id=row.id,
        guid=row.guid,
        name=row.name,
        account_id=row.account_id,
        lease_seconds=row.lease_seconds,
        unique_tasks=row.unique_tasks,
        auto_change_status=row.auto_change_status,
        retry_application=row.retry_application,
        retry_business=row.retry_business,
        retry_abandoned=row.retry_abandoned,
        max_retries=row.max_retries,
        retry_delay_seconds=row.retry_delay_seconds,
    )


_BY_ID = "id"
"""Marks a cache key by queue id (a queue may be named like another one's id)."""


def cached_queue_rules(runtime: Runtime, caller: Caller, ref: int | str) -> QueueRules | None:
    """The queue `ref` names, as the caller may see it, if queue_rules has it cached."""
    return runtime.queues.get((caller.account_id, caller.principal.folder_ids, str(ref)))


def cached_queue_by_id(runtime: Runtime, caller: Caller, queue_id: int) -> QueueRules | None:
    """The queue with id `queue_id`, if queue_rules has cached it (by any of its names) for a
    caller who sees the same folders: what a finish needs to name its task's queue."""
    return runtime.queues.get((caller.account_id, caller.principal.folder_ids, _BY_ID, queue_id))


def _remember(
    runtime: Runtime, caller: Caller, ref: int | str, rules: QueueRules, generation: int
) -> None:
    scope = (caller.account_id, caller.principal.folder_ids)
    runtime.queues.put((*scope, str(ref)), rules, generation=generation)
    runtime.queues.put((*scope, _BY_ID, rules.id), rules, generation=generation)


def remembered_queue(
    session: Session, runtime: Runtime, caller: Caller, ref: int | str
) -> QueueRow:
    """find_queue, its rules then cached as queue_rules caches them: a queue a caller only
    adds tasks to (never takes from) is then cached for the lean add too."""
    generation = runtime.queues.generation
    row = find_queue(session, caller, ref)
    _remember(runtime, caller, ref, rules_of(row), generation)
    return row


def queue_rules(session: Session, runtime: Runtime, caller: Caller, ref: int | str) -> QueueRules:
    """The queue `ref` names, as the caller may see it; cached between requests."""
    cached = cached_queue_rules(runtime, caller, ref)
    if cached is not None:
        return cached
    generation = runtime.queues.generation
    rules = rules_of(find_queue(session, caller, ref))
    _remember(runtime, caller, ref, rules, generation)
    return rules


def _settings(data: QueueCreate | QueueUpdate) -> dict[str, Any]:
    return data.model_dump(exclude={"guid", "name", "folder"}, exclude_none=True)


def create_queue(runtime: Runtime, caller: Caller, data: QueueCreate) -> GuidResponse:
    caller.require(Screen.QUEUE, Action.CREATE)
    with runtime.db.write(actor=caller.actor()) as session:
        ensure_name_free(session, QueueRow, caller, data.name, entity="queue")
        queue = QueueRow(
            account_id=caller.account_id,
            name=data.name,
            folder_id=folder_id_for(session, caller, data.folder),
            **_settings(data),
        )
        session.add(queue)
        session.flush()
        return GuidResponse(guid=queue.guid)


def read_queue(runtime: Runtime, caller: Caller, ref: int | str) -> QueueRead:
    caller.require(Screen.QUEUE, Action.READ)
    with runtime.db.read() as session:
        return QueueRead.model_validate(find_queue(session, caller, ref))


def list_queues(runtime: Runtime, caller: Caller) -> list[QueueWithCounts]:
    caller.require(Screen.QUEUE, Action.READ)
    with runtime.db.read() as session:
        queues = session.scalars(scoped(QueueRow, caller).order_by(QueueRow.id)).all()
        counts: dict[int, dict[str, int]] = {q.id: {s.label: 0 for s in TaskStatus} for q in queues}
        if queues:
            rows = statements.counts_by_status(session, [q.id for q in queues])
            for queue_id, status, total in rows:
                counts[queue_id][TaskStatus(status).label] = total
        return [
            QueueWithCounts.model_validate({**q.__dict__, "counts": counts[q.id]}) for q in queues
        ]


def queue_counts(runtime: Runtime, caller: Caller, ref: int | str) -> dict[str, int]:
    """Live tasks of one queue per status name (every status, zeros included): a cheap read
    the web's live queue page asks once a second."""
    caller.require(Screen.QUEUE, Action.READ)
    with runtime.db.read() as session:
        queue = find_queue(session, caller, ref)
        counts = {s.label: 0 for s in TaskStatus}
        for _, status, total in statements.counts_by_status(session, [queue.id]):
            counts[TaskStatus(status).label] = total
        return counts


def update_queue(runtime: Runtime, caller: Caller, data: QueueUpdate) -> None:
    caller.require(Screen.QUEUE, Action.UPDATE)
    with runtime.db.write(actor=caller.actor()) as session:
        queue = find_queue(session, caller, data.guid, field="Guid", for_update=True)
        if data.name is not None and data.name != queue.name:
            ensure_name_free(session, QueueRow, caller, data.name, entity="queue")
            queue.name = data.name
        for name, value in _settings(data).items():
            setattr(queue, name, value)
        if "folder" in data.model_fields_set:
            queue.folder_id = folder_id_for(session, caller, data.folder)


def delete_queue(runtime: Runtime, caller: Caller, ref: int | str) -> None:
    caller.require(Screen.QUEUE, Action.DELETE)
    with runtime.db.write(actor=caller.actor()) as session:
        queue = find_queue(session, caller, ref, for_update=True)
        busy = statements.in_progress_count(session, queue.id)
        if busy:
            raise Conflict(
                f"queue '{queue.name}' has {busy} task(s) in progress", code="queue_busy"
            )
        queue.is_deleted = True
