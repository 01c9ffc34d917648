"""Queue work from a job script.

    from robofleet.sdk import BusinessError, queue

    queue("Invoices").add("INV-42", {"amount": 120})

    for task in queue("Invoices").take_each():
        with task:                        # leaving normally: Success
            post(task.parameters)         # BusinessError: Failed (Business)
                                          # any other exception: Failed (Application)

`take_each` takes up to `batch` tasks per call (10 by default; `batch=1` takes and finishes
one task per call, as `take` and an explicit finish do) and hands them out one at a time.
While the loop holds tasks their leases are renewed in the background, all in one call.

Finishes of the loop's tasks (`with task:`, an explicit complete/fail/postpone in the body,
or the Success of a task the body left unfinished) are sent together with the server's
batch finish: before the loop's next take, after at most about FLUSH_SECONDS while the body
runs, when the loop ends, and at process exit. A finish the server refuses (each is judged
on its own: e.g. 409 lease_lost when the lease expired first) raises FinishRefused at the
loop's next step, which ends the loop as any error does; once the loop has ended for
another reason it can only be logged (to the job log). A failed call (network, after the
retries) keeps its finishes for the next flush: repeating a finish is answered as the first.

When the loop ends early (break, or an exception out of its body): the task in hand, if
unfinished, is released as Failed (Application); the tasks taken but never handed out are
given back untouched (Postponed until now, which the server turns New again within about a
second: no failure is recorded and no retry is used up); what waits is sent at once.

A robot killed before a flush loses at most about FLUSH_SECONDS of finishes (and the tasks
it held but had not handed out). Their tasks stay In Progress until their lease runs out;
the server then fails them (Failed (Application), LeaseExpired, retried if the queue retries
such failures; services/tasks/timers.py) and refuses any late finish of that lease: a task
is never recorded done twice. In a queue with AutoChangeStatus, a job ending Failed, Stopped
or Aborted fails at once every task it held (JobEnded): up to `batch` of them.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

from robofleet.contract import IDEMPOTENCY_KEY_HEADER, Api, TaskStatus
from robofleet.sdk import context
from robofleet.sdk.batching import FinishRefused, Loop
from robofleet.sdk.http import RobofleetError, call

__all__ = ["BusinessError", "FinishRefused", "Queue", "Task", "queue"]

BATCH = 10
"""Tasks `take_each` takes per call by default."""

MAX_BATCH = 1000
"""The server's largest take."""


class BusinessError(Exception):
    """The task's data breaks a business rule: retrying will not help."""


@dataclass
class Task:
    """A task taken with a lease; finish it once."""

    data: dict[str, Any]
    _finished: bool = False
    _loop: Loop[Task] | None = field(default=None, repr=False)
    """The take_each loop that holds it: its finish goes through the loop."""

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
        self._finished = True
        if self._loop is not None:
            self._loop.finish(body)
        else:
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
        self,
        *,
        lease_seconds: int = 300,
        tags: str | None = None,
        limit: int | None = None,
        batch: int = BATCH,
    ) -> Iterator[Task]:
        """Take tasks, up to `batch` per call, and hand them out one at a time until the
        queue has none (or `limit` were handed out); see the module's text for when
        finishes are sent."""
        if not 1 <= batch <= MAX_BATCH:
            raise ValueError(f"batch must be 1 to {MAX_BATCH}, not {batch}")
        loop: Loop[Task] = Loop(lease_seconds, batching=batch > 1)
        done = 0
        task: Task | None = None
        try:
            while limit is None or done < limit:
                if not loop.waiting:
                    loop.flush()  # the server has the finishes before more tasks are taken
                    loop.raise_refused()
                    count = batch if limit is None else min(batch, limit - done)
                    taken = self.take(count, lease_seconds=lease_seconds, tags=tags)
                    if not taken:
                        break
                    for each in taken:
                        each._loop = loop
                    loop.hold(taken)
                task = loop.waiting.popleft()
                yield task
                if not task.finished:
                    task.complete()
                task = None
                done += 1
                loop.raise_refused()
        except BaseException:
            # GeneratorExit (break, an exception in the body) or our own call's error.
            if task is not None and not task.finished:
                _release(task, "the processing loop ended before finishing the task")
            loop.abandon()
            raise
        loop.close()


def _named(idempotency_key: str | None) -> dict[str, str]:
    """The header naming one logical add: the same across the retries of its call."""
    return {IDEMPOTENCY_KEY_HEADER: idempotency_key or str(uuid.uuid4())}


def _release(task: Task, message: str) -> None:
    # If this fails too, the lease expires and the server fails the task then.
    with contextlib.suppress(RobofleetError, OSError):
        task.fail(message, error_type="LoopEnded")


def queue(name: str) -> Queue:
    """A queue by name, GUID or id."""
    return Queue(name)
