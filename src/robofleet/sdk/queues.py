"""Queue work from a job script.

    from robofleet.sdk import BusinessError, queue

    queue("Invoices").add("INV-42", {"amount": 120})

    for task in queue("Invoices").take_each():
        with task:                        # leaving normally: Success
            post(task.parameters)         # BusinessError: Failed (Business)
                                          # any other exception: Failed (Application)

While a task is held its lease is renewed in the background. A task left unfinished by the
loop body (no `with task:`) is marked Success when the loop moves on; if the loop ends with
an exception, the task is released as Failed (Application) at once rather than waiting for
its lease to run out.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

from robofleet.contract import IDEMPOTENCY_KEY_HEADER, Api, TaskStatus
from robofleet.sdk import context
from robofleet.sdk.http import RobofleetError, call


class BusinessError(Exception):
    """The task's data breaks a business rule: retrying will not help."""


@dataclass
class Task:
    """A task taken with a lease; finish it once."""

    data: dict[str, Any]
    _finished: bool = False
    _renewer: threading.Event = field(default_factory=threading.Event)

    @property
    def guid(self) -> str:
        return str(self.data["guid"])

    @property
    def name(self) -> str:
        return str(self.data["name"])

    @property
    def parameters(self) -> dict[str, Any]:
        return dict(self.data.get("parameters") or {})

    @property
    def lease_id(self) -> str:
        return str(self.data["lease_id"])

    @property
    def finished(self) -> bool:
        return self._finished

    def complete(self, output: Any = None) -> None:
        self._finish(TaskStatus.SUCCESS, output=output)

    def fail(
        self, message: str, *, business: bool = False, details: str = "", error_type: str = ""
    ) -> None:
        kind = error_type or ("BusinessError" if business else "ApplicationError")
        self._finish(
            TaskStatus.FAILED_BUSINESS if business else TaskStatus.FAILED_APPLICATION,
            error={"type": kind, "message": message[:100_000], "details": details[:1_000_000]},
        )

    def postpone(self, until: datetime) -> None:
        self._finish(TaskStatus.POSTPONED, postponed_until=until.isoformat())

    def renew(self, seconds: int | None = None) -> None:
        body: dict[str, Any] = {"Guid": self.guid, "LeaseId": self.lease_id}
        if seconds:
            body["LeaseSeconds"] = seconds
        call("POST", Api.TASK_RENEW, body)

    def _finish(self, status: int, **fields: Any) -> None:
        if self._finished:
            raise RuntimeError(f"task {self.guid} is already finished")
        body = {"Guid": self.guid, "LeaseId": self.lease_id, "Status": status}
        if "output" in fields and fields["output"] is not None:
            body["Output"] = fields["output"]
        if "error" in fields:
            body["Error"] = fields["error"]
        if "postponed_until" in fields:
            body["PostponedUntil"] = fields["postponed_until"]
        self._renewer.set()
        self._finished = True
        call("POST", Api.TASK_FINISH, body)

    def __enter__(self) -> Task:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        _traceback: TracebackType | None,
    ) -> bool:
        if self._finished:
            return False
        if error is None:
            self.complete()
        elif isinstance(error, BusinessError):
            self.fail(str(error), business=True, error_type=type(error).__name__)
        elif isinstance(error, Exception):
            self.fail(str(error) or type(error).__name__, error_type=type(error).__name__)
        else:
            return False  # KeyboardInterrupt, SystemExit: let the lease expire
        # The outcome is recorded; the loop goes on with the next task.
        return isinstance(error, Exception)


class Queue:
    def __init__(self, name: str) -> None:
        self.name = name

    def add(
        self,
        name: str,
        parameters: dict[str, Any] | None = None,
        *,
        priority: int | str | None = None,
        tags: str | list[str] | None = None,
        deadline: datetime | None = None,
        description: str = "",
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Add a task; the added task as the server reads it. The add carries an
        idempotency key (a fresh one unless given), so the retries of a lost answer never
        add it twice; pass your own key to make a retry of your own safe too."""
        body: dict[str, Any] = {
            "Queue": self.name,
            "Name": name,
            "Parameters": parameters or {},
            "Description": description,
        }
        if priority is not None:
            body["Priority"] = priority
        if tags:
            body["Tags"] = tags if isinstance(tags, str) else ";".join(tags)
        if deadline is not None:
            body["Deadline"] = deadline.isoformat()
        result: dict[str, Any] = call(
            "POST", Api.TASK_CREATE, body, headers=_named(idempotency_key)
        )
        return result

    def add_many(
        self,
        tasks: list[dict[str, Any]],
        *,
        each: bool = False,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Add many tasks in one call, with an idempotency key as `add` does."""
        result: dict[str, Any] = call(
            "POST",
            Api.TASK_BULK_CREATE,
            {"Queue": self.name, "Tasks": tasks, "Mode": "each" if each else "all_or_nothing"},
            headers=_named(idempotency_key),
        )
        return result

    def take(
        self, count: int = 1, *, lease_seconds: int | None = None, tags: str | None = None
    ) -> list[Task]:
        body: dict[str, Any] = {"Queue": self.name, "Count": count}
        if lease_seconds:
            body["LeaseSeconds"] = lease_seconds
        if tags:
            body["Tags"] = tags
        if context.job_guid():
            body["Job"] = context.job_guid()
        taken = call("POST", Api.TASK_TAKE, body)
        return [Task(item) for item in taken["tasks"]]

    def take_each(
        self, *, lease_seconds: int = 300, tags: str | None = None, limit: int | None = None
    ) -> Iterator[Task]:
        """Take tasks one at a time until the queue has none (or `limit` are done)."""
        done = 0
        while limit is None or done < limit:
            tasks = self.take(1, lease_seconds=lease_seconds, tags=tags)
            if not tasks:
                return
            task = tasks[0]
            renewer = _keep_renewed(task, lease_seconds)
            try:
                yield task
            except GeneratorExit:
                if not task.finished:
                    _release(task, "the processing loop ended before finishing the task")
                raise
            finally:
                task._renewer.set()
                renewer.join(timeout=5)
            if not task.finished:
                task.complete()
            done += 1


def _named(idempotency_key: str | None) -> dict[str, str]:
    """The header naming one logical add: the same across the retries of its call."""
    return {IDEMPOTENCY_KEY_HEADER: idempotency_key or str(uuid.uuid4())}


def _keep_renewed(task: Task, lease_seconds: int) -> threading.Thread:
    def renew() -> None:
        while not task._renewer.wait(max(lease_seconds / 3, 1)):
            try:
                task.renew(lease_seconds)
            except (RobofleetError, OSError):
                return

    thread = threading.Thread(target=renew, name=f"renew-{task.guid}", daemon=True)
    thread.start()
    return thread


def _release(task: Task, message: str) -> None:
    # If this fails too, the lease expires and the server fails the task then.
    with contextlib.suppress(RobofleetError, OSError):
        task.fail(message, error_type="LoopEnded")


def queue(name: str) -> Queue:
    """A queue by name, GUID or id."""
    return Queue(name)
