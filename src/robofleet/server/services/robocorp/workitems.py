"""Work items = tasks (reference sections 4 and 8; docs/decisions.md).

An item's id is the task's GUID; its payload the task's Parameters; its files the Storage
files of `Work items/<task GUID>/`. A run reaches the tasks its job holds or created: the
default task, the inputs it reserved, the outputs it made.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from robofleet.server.db import task_statements as statements
from robofleet.server.db.base import utcnow
from robofleet.server.db.tables import JobRow, QueueRow, StorageFileRow, TaskRow
from robofleet.server.domain.errors import Conflict, MalformedRequest, NotFound
from robofleet.server.domain.refs import guid_of, new_guid
from robofleet.server.domain.tasks import TaskStatus
from robofleet.server.runtime import Runtime
from robofleet.server.services.robocorp.context import (
    Call,
    Run,
    authorize,
    check_run_path,
    parse_json,
    queue_of,
)
from robofleet.server.services.robocorp.folders import WORK_ITEMS, files_in, folder_at
from robofleet.server.services.robocorp.urls import (
    ITEM_FILE_UPLOAD,
    SIGNED_URL_ACTOR,
    base_url,
    check_upload,
    download_url,
    upload_url,
)
from robofleet.server.services.storage.content import Incoming, content_type_of, spool_and_keep
from robofleet.server.services.tasks.state import (
    Change,
    Lease,
    change_task_status,
    history_entry,
    take_new_tasks,
)

OUTPUT_QUEUE_SUFFIX = " outputs"
RELEASES = {
    ("COMPLETED", None): TaskStatus.SUCCESS,
    ("FAILED", "BUSINESS"): TaskStatus.FAILED_BUSINESS,
    ("FAILED", "APPLICATION"): TaskStatus.FAILED_APPLICATION,
}


def _object(body: bytes, what: str) -> dict[str, Any]:
    value = parse_json(body, what)
    if not isinstance(value, dict):
        raise MalformedRequest(f"the {what} must be a JSON object")
    return value


def _string(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise MalformedRequest(f"'{key}' must be a non-empty string")
    return value.strip()


def _payload(value: Any) -> dict[str, Any]:
    """A payload becomes task Parameters, which are a JSON object; null is {}."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedRequest(
            "the payload must be a JSON object (or null): it is stored as the task's Parameters"
        )
    return value


def _item(session: Session, run: Run, item_id: str, *, lock: bool = False) -> TaskRow:
    """A task this run may touch (its job's default task, or one it holds or created)."""
    guid = guid_of(item_id)
    if guid is None:  # names no item (and PostgreSQL's `uuid` column refuses such text)
        raise NotFound("work item", item_id)
    job = session.get(JobRow, run.job_id)
    assert job is not None
    query = select(TaskRow).where(
        TaskRow.guid == guid,
        TaskRow.account_id == run.caller.account_id,
        TaskRow.is_deleted.is_(False),
        or_(TaskRow.job_id == run.job_id, TaskRow.id == job.task_id),
    )
    if lock:
        query = query.with_for_update()
    task = session.scalar(query)
    if task is None:
        raise NotFound("work item", item_id)
    return task


def read_payload(runtime: Runtime, call: Call, item_id: str) -> dict[str, Any]:
    run = authorize(runtime, call)
    with runtime.db.read() as session:
        return dict(_item(session, run, item_id).parameters or {})


def save_payload(runtime: Runtime, call: Call, item_id: str, body: bytes) -> None:
    payload = _payload(parse_json(body, "payload"))
    run = authorize(runtime, call)
    with runtime.db.write(actor=run.caller.actor()) as session:
        task = _item(session, run, item_id, lock=True)
        task.parameters = payload
        task.updated_at = utcnow()


def _files_folder(session: Session, task: TaskRow, *, create: bool) -> int | None:
    folder = folder_at(session, task.account_id, [WORK_ITEMS, task.guid], create=create)
    return folder.id if folder else None


def list_files(runtime: Runtime, call: Call, item_id: str) -> list[dict[str, Any]]:
    run = authorize(runtime, call)
    with runtime.db.read() as session:
        folder_id = _files_folder(session, _item(session, run, item_id), create=False)
        if folder_id is None:
            return []
        return [
            {"fileName": f.name, "fileId": f.guid, "size": f.size}
            for f in files_in(session, folder_id)
        ]


def _file_of(session: Session, task: TaskRow, file_id: str) -> StorageFileRow:
    folder_id = _files_folder(session, task, create=False)
    row = (
        session.scalar(
            select(StorageFileRow).where(
                StorageFileRow.guid == file_id.strip().lower(),
                StorageFileRow.storage_folder_id == folder_id,
                StorageFileRow.is_deleted.is_(False),
            )
        )
        if folder_id is not None
        else None
    )
    if row is None:
        raise NotFound("work item file", file_id)
    return row


def file_url(runtime: Runtime, call: Call, item_id: str, file_id: str) -> dict[str, str]:
    run = authorize(runtime, call)
    with runtime.db.read() as session:
        row = _file_of(session, _item(session, run, item_id), file_id)
        return {"url": download_url(runtime, base_url(runtime, call.base), row.guid)}


def delete_file(runtime: Runtime, call: Call, item_id: str, file_id: str) -> None:
    run = authorize(runtime, call)
    with runtime.db.write(actor=run.caller.actor()) as session:
        _file_of(session, _item(session, run, item_id), file_id).is_deleted = True


def _file_name(name: str) -> str:
    # A Storage name is one path segment.
    cleaned = name.replace("/", "_").replace("\\", "_").strip()
    if not cleaned or len(cleaned) > 255:
        raise MalformedRequest("'fileName' must be 1 to 255 characters")
    return cleaned


def start_file_upload(runtime: Runtime, call: Call, item_id: str, body: bytes) -> dict[str, Any]:
    """The S3-style presigned POST the library sends the file to (`fields` are empty)."""
    data = _object(body, "body")
    name = _file_name(_string(data, "fileName"))
    run = authorize(runtime, call)
    with runtime.db.read() as session:
        task = _item(session, run, item_id)
    subject = f"{task.guid}\n{name}"
    url = upload_url(
        runtime, base_url(runtime, call.base), ITEM_FILE_UPLOAD, subject, {"name": name}
    )
    return {"url": url, "fields": {}}


def finish_file_upload(
    runtime: Runtime, item_guid: str, name: str, expires: int, signature: str, incoming: Incoming
) -> None:
    """The file part of the presigned POST: added to the item's folder, replacing a file of
    the same name."""
    check_upload(runtime, f"{item_guid}\n{name}", expires, signature)
    spooled = spool_and_keep(runtime, incoming)
    with runtime.db.write(actor=SIGNED_URL_ACTOR) as session:
        task = session.scalar(select(TaskRow).where(TaskRow.guid == item_guid))
        if task is None or task.is_deleted:
            raise NotFound("work item", item_guid)
        folder_id = _files_folder(session, task, create=True)
        assert folder_id is not None
        row = session.scalar(
            select(StorageFileRow).where(
                StorageFileRow.storage_folder_id == folder_id,
                StorageFileRow.name == name,
                StorageFileRow.is_deleted.is_(False),
            )
        )
        if row is None:
            row = StorageFileRow(account_id=task.account_id, name=name, storage_folder_id=folder_id)
            session.add(row)
        row.sha256, row.size = spooled.sha256, spooled.size
        row.content_type = content_type_of(name, None, incoming.content_type)


# --- the process API: reserve, release, outputs ------------------------------------------


def reserve_next(
    runtime: Runtime, call: Call, process: str, run_id: str, step_run: str
) -> dict[str, str | None]:
    """The next New task of the run's input queue, held by the job (null: none left)."""
    now = utcnow()
    run = authorize(runtime, call)
    with runtime.db.write(actor=run.caller.actor()) as session:
        check_run_path(run, process, run_id, step_run)
        run.require_live("reserve work items")
        if run.input_queue_id is None:
            return {"workItemId": None}
        queue = queue_of(session, run.input_queue_id)
        lease = Lease(
            lease_id=new_guid(),
            owner=f"job:{run.job_guid}",
            robot_id=run.robot_id,
            seconds=queue.lease_seconds,
            job_id=run.job_id,
        )
        rows = take_new_tasks(
            session,
            None,
            queue_id=queue.id,
            count=1,
            lease=lease,
            change=Change(run.caller.principal.name, f"reserved by job {run.job_guid}"),
            now=now,
        )
        return {"workItemId": rows[0].guid if rows else None}


def release_outcome(data: dict[str, Any]) -> tuple[TaskStatus, str, str]:
    state = _string(data, "state").upper()
    exception = data.get("exception")
    if exception is not None and not isinstance(exception, dict):
        raise MalformedRequest("'exception' must be an object")
    kind = None
    code = message = ""
    if state == "FAILED":
        exception = exception or {}
        kind = str(exception.get("type") or "APPLICATION").strip().upper()
        code = str(exception.get("code") or "").strip()
        message = str(exception.get("message") or "").strip()
    status = RELEASES.get((state, kind))
    if status is None:
        raise MalformedRequest(
            "'state' must be COMPLETED or FAILED, and exception.type BUSINESS or APPLICATION"
        )
    return status, code, message


def release(
    runtime: Runtime, call: Call, process: str, run_id: str, step_run: str, body: bytes
) -> None:
    """COMPLETED -> Success, FAILED BUSINESS/APPLICATION -> Failed Business/Application with
    the code and message as the task's error. Releasing again to the same status is a no-op
    (the libraries retry POSTs whose answer was lost)."""
    data = _object(body, "body")
    item_id = _string(data, "workItemId")
    status, code, message = release_outcome(data)
    run = authorize(runtime, call)
    with runtime.db.write(actor=run.caller.actor()) as session:
        check_run_path(run, process, run_id, step_run)
        task = _item(session, run, item_id, lock=True)
        current = TaskStatus(task.status)
        if current == status:
            return
        if current != TaskStatus.IN_PROGRESS or task.job_id != run.job_id:
            raise Conflict(
                f"work item {task.guid} is {current.label}, not reserved by this run: it "
                f"cannot be released as {status.label}",
                code="not_reserved",
            )
        if status != TaskStatus.SUCCESS:
            task.error_type = (
                code or ("BUSINESS" if status == TaskStatus.FAILED_BUSINESS else "APPLICATION")
            )[:64]
            task.error_message = message
        queue = queue_of(session, task.queue_id)
        change_task_status(
            session,
            task,
            queue,
            status,
            Change(run.caller.principal.name, f"released by job {run.job_guid}"),
        )


def _output_queue(session: Session, parent_queue: QueueRow) -> QueueRow:
    """`<input queue> outputs`, created beside the input queue on first use."""
    name = (parent_queue.name + OUTPUT_QUEUE_SUFFIX)[:128]
    found = session.scalar(
        select(QueueRow).where(
            QueueRow.account_id == parent_queue.account_id,
            QueueRow.name == name,
            QueueRow.is_deleted.is_(False),
        )
    )
    if found is not None:
        return found
    queue = QueueRow(
        account_id=parent_queue.account_id,
        name=name,
        description=f"Work item outputs of the robots that process '{parent_queue.name}'",
        folder_id=parent_queue.folder_id,
    )
    session.add(queue)
    session.flush()
    return queue


def create_output(
    runtime: Runtime, call: Call, process: str, parent_id: str, body: bytes
) -> dict[str, str]:
    """A task of the output queue, child of the input, Postponed (no date) until the job
    ends, so nothing takes it before the robot has added its files."""
    data = _object(body, "body")
    payload = _payload(data.get("payload"))
    now = utcnow()
    run = authorize(runtime, call)
    with runtime.db.write(actor=run.caller.actor()) as session:
        if process.strip().lower() != run.process_guid:
            raise NotFound("process", process)
        run.require_live("create outputs")
        parent = _item(session, run, parent_id)
        queue = _output_queue(session, queue_of(session, parent.queue_id))
        child = TaskRow(
            guid=new_guid(),
            account_id=parent.account_id,
            queue_id=queue.id,
            name=parent.name,
            parameters=payload,
            parent_task_id=parent.id,
            job_id=run.job_id,
            status=int(TaskStatus.POSTPONED),
            status_changed_at=now,
            created_at=now,
            updated_at=now,
        )
        session.add(child)
        session.flush()
        change = Change(run.caller.principal.name, f"output of {parent.guid} (job {run.job_guid})")
        statements.record_events(
            session,
            [history_entry(child.account_id, child.id, None, TaskStatus.POSTPONED, change, now)],
        )
        return {"id": child.guid}
