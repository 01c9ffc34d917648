"""Adding tasks, one or in bulk, with names unique per queue and idempotent retries."""

from __future__ import annotations

from functools import partial

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from robofleet.server.db import task_statements as statements
from robofleet.server.db.base import utcnow
from robofleet.server.db.commit_hooks import on_commit
from robofleet.server.db.system_actors import TASK_TRAFFIC
from robofleet.server.db.tables import QueueRow, TaskRow
from robofleet.server.db.task_statements import NewTask
from robofleet.server.domain.errors import (
    Conflict,
    FieldProblem,
    InvalidInput,
)
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.runtime.planner_statistics import note_added
from robofleet.server.schemas.base import invalid_input
from robofleet.server.schemas.queues import (
    BulkCreate,
    BulkCreated,
    BulkFailure,
    TaskCreate,
    TaskItem,
    TaskRead,
)
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.tasks import lean_add
from robofleet.server.services.tasks.idempotency import (
    AddName,
    checked_key,
    earlier_adds,
    item_key,
    replayed,
    request_digest,
)
from robofleet.server.services.tasks.queues import remembered_queue
from robofleet.server.services.tasks.state import (
    Change,
    add_tasks,
    new_task,
)
from robofleet.server.services.tasks.views import task_read


def _taken_names(session: Session, queue: QueueRow, names: list[str]) -> set[str]:
    if not queue.unique_tasks or not names:
        return set()
    return statements.taken_names(session, queue.id, names)


def _duplicate(queue: QueueRow, name: str) -> Conflict:
    return Conflict(
        f"queue '{queue.name}' already has a task named '{name}' and demands unique names",
        code="duplicate_task_name",
    )


def create_task(
    runtime: Runtime, caller: Caller, data: TaskCreate, *, idempotency_key: str | None = None
) -> TaskRead:
    """Add a task. An add named by an idempotency key or the client's task GUID that an
    earlier attempt already made answers with that task (services.tasks.idempotency)."""
    caller.require(Screen.TASK, Action.CREATE)
    name = AddName(checked_key(idempotency_key), data.guid)
    now = utcnow()
    if runtime.db.raw_writes:
        created = lean_add.create_on_sqlite(runtime, caller, data, name.key, now)
        if created is not None:  # else the session path below answers
            return created
    with runtime.db.write(actor=TASK_TRAFFIC) as session:
        queue = remembered_queue(session, runtime, caller, data.queue)
        digest = request_digest(queue.id, data.name, data, data.guid) if name.given else None
        earlier = _earlier_add(session, caller, name, digest)
        if earlier is not None:
            return task_read(session, earlier)
        if _taken_names(session, queue, [data.name]):
            raise _duplicate(queue, data.name)
        row = new_task(
            queue,
            data.name,
            data,
            now,
            guid=data.guid,
            idempotency_key=name.key,
            request_digest=digest,
        )
        try:
            with session.begin_nested():
                add_tasks(session, [row], Change(caller.principal.name, "added"), now)
        except IntegrityError:
            # A concurrent attempt of the same add won the race, or took the name.
            earlier = _earlier_add(session, caller, name, digest)
            if earlier is not None:
                return task_read(session, earlier)
            raise _duplicate(queue, data.name) from None
        if runtime.task_arrivals:
            runtime.task_arrivals.announce(session, queue.id)
        task = statements.find_task(
            session, caller.account_id, "guid", row["guid"], for_update=False
        )
        assert task is not None
        return task_read(session, task)


def _earlier_add(
    session: Session, caller: Caller, name: AddName, digest: str | None
) -> TaskRow | None:
    if digest is None:
        return None
    earlier = earlier_adds(session, caller.account_id, [name])[0]
    return None if earlier is None else replayed(earlier, caller.account_id, name, digest)


def bulk_create(
    runtime: Runtime, caller: Caller, data: BulkCreate, *, idempotency_key: str | None = None
) -> BulkCreated:
    """Up to 10,000 tasks: all or nothing, or each on its own (failures listed). Items an
    earlier attempt of this add already added (same key or task GUID) are not added again."""
    caller.require(Screen.TASK, Action.CREATE)
    key = checked_key(idempotency_key)
    now = utcnow()
    good, failed = validated_items(data)
    if runtime.db.raw_writes:
        added_lean = lean_add.bulk_on_sqlite(runtime, caller, data.queue, good, failed, key, now)
        if added_lean is not None:  # else the session path below answers
            return added_lean
    with runtime.db.write(actor=TASK_TRAFFIC) as session:
        queue = remembered_queue(session, runtime, caller, data.queue)
        added: dict[int, str] = {}  # item index -> task GUID, added earlier or now
        digests: dict[int, str] = {}
        good = _without_earlier_adds(
            session, caller, queue, key, good, digests=digests, added=added, failed=failed
        )
        taken = _taken_names(session, queue, [item.name for _, item in good])
        seen: set[str] = set()
        rows: list[NewTask] = []
        for index, item in good:
            if queue.unique_tasks and (item.name in taken or item.name in seen):
                failed.append(
                    BulkFailure(
                        index=index,
                        name=item.name,
                        code="duplicate_task_name",
                        message=_duplicate(queue, item.name).message,
                    )
                )
                continue
            seen.add(item.name)
            row = new_task(
                queue,
                item.name,
                item,
                now,
                guid=item.guid,
                idempotency_key=item_key(key, index),
                request_digest=digests.get(index),
            )
            rows.append(row)
            added[index] = row["guid"]
        if failed and data.mode == "all_or_nothing":
            failed.sort(key=lambda f: f.index)
            raise InvalidInput(
                f"{len(failed)} of {len(data.tasks)} tasks are refused, so none "
                f"was added; first: task {failed[0].index}: {failed[0].message}"
            )
        if rows:
            try:
                with session.begin_nested():
                    add_tasks(session, rows, Change(caller.principal.name, "added"), now)
            except IntegrityError:
                # A concurrent add took a name, key or GUID between our check and our insert.
                raise Conflict(
                    "a concurrent add took one of these unique names, keys or GUIDs; nothing "
                    "was added, send them again",
                    code="duplicate_task_name",
                ) from None
            if runtime.task_arrivals:
                runtime.task_arrivals.announce(session, queue.id)
            on_commit(session, partial(note_added, runtime.planner_statistics, len(rows)))
        failed.sort(key=lambda f: f.index)
        return BulkCreated(
            created=len(added),
            guids=[added[index] for index in sorted(added)],
            failed=failed,
            existing=len(added) - len(rows),
        )


def _without_earlier_adds(
    session: Session,
    caller: Caller,
    queue: QueueRow,
    key: str | None,
    items: list[tuple[int, TaskItem]],
    *,
    digests: dict[int, str],
    added: dict[int, str],
    failed: list[BulkFailure],
) -> list[tuple[int, TaskItem]]:
    """The items still to add: those an earlier attempt added go to `added`, those whose
    key or GUID names other content (or whose GUID repeats in this call) to `failed`."""
    names = {index: AddName(item_key(key, index), item.guid) for index, item in items}
    named = [(index, item) for index, item in items if names[index].given]
    earlier = earlier_adds(session, caller.account_id, [names[index] for index, _ in named])
    refused: set[int] = set()
    guids: set[str] = set()
    for (index, item), task in zip(named, earlier, strict=True):
        digests[index] = request_digest(queue.id, item.name, item, item.guid)
        problem: Conflict | None = None
        if item.guid is not None and item.guid in guids:
            problem = Conflict(f"task GUID {item.guid} is given twice", code="duplicate_guid")
        elif task is not None:
            try:
                added[index] = replayed(task, caller.account_id, names[index], digests[index]).guid
            except Conflict as exc:
                problem = exc
        if item.guid is not None:
            guids.add(item.guid)
        if problem is not None:
            refused.add(index)
            failed.append(
                BulkFailure(index=index, name=item.name, code=problem.code, message=problem.message)
            )
    return [(i, item) for i, item in items if i not in added and i not in refused]


def validated_items(data: BulkCreate) -> tuple[list[tuple[int, TaskItem]], list[BulkFailure]]:
    """The items that validate (with their index) and the failures of those that do not;
    in all_or_nothing mode any failure refuses the whole add, before anything is looked up
    (422, naming each field)."""
    failed: list[BulkFailure] = []
    good: list[tuple[int, TaskItem]] = []
    problems: list[FieldProblem] = []
    for index, raw in enumerate(data.tasks):
        try:
            good.append((index, TaskItem.model_validate(raw)))
        except ValidationError as exc:
            refused = invalid_input(exc)
            problems += [
                FieldProblem(f"Tasks[{index}].{p.field}", p.problem) for p in refused.details
            ]
            problem = refused.message
            name = raw.get("Name", raw.get("name")) if isinstance(raw, dict) else None
            failed.append(
                BulkFailure(
                    index=index,
                    name=str(name) if name else None,
                    code="invalid_input",
                    message=problem,
                )
            )
    if failed and data.mode == "all_or_nothing":
        raise InvalidInput(
            f"{len(failed)} of {len(data.tasks)} tasks are refused, so none was added; "
            f"first: task {failed[0].index}: {failed[0].message}",
            details=problems,
        )
    return good, failed
