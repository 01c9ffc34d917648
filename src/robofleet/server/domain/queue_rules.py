"""A queue's settings as the hot paths need them: a frozen snapshot, cached per request
reference (see runtime.caches), instead of a row read on every take and finish. Built from
a queue row by services.tasks.queues."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from robofleet.server.domain.tasks import TaskStatus

RETRY_SWITCH: Final[Mapping[TaskStatus, str]] = {
    TaskStatus.FAILED_APPLICATION: "retry_application",
    TaskStatus.FAILED_BUSINESS: "retry_business",
    TaskStatus.ABANDONED: "retry_abandoned",
}
"""The queue setting (a RetryRules field, a `queues` column of the same name) that retries
each kind of failure. The session path reads it (queue_retries_failure) and the one-statement
finish writes the same rule in SQL (db.task_statements.claims.retried_by_its_queue)."""


class RetryRules(Protocol):
    """What the retry rule reads of a queue; a QueueRow and a QueueRules both have it."""

    @property
    def retry_application(self) -> bool: ...
    @property
    def retry_business(self) -> bool: ...
    @property
    def retry_abandoned(self) -> bool: ...
    @property
    def max_retries(self) -> int: ...
    @property
    def retry_delay_seconds(self) -> int: ...


@dataclass(frozen=True)
class QueueRules:
    id: int
    guid: str
    name: str
    account_id: int
    lease_seconds: int
    unique_tasks: bool
    auto_change_status: bool
    retry_application: bool
    retry_business: bool
    retry_abandoned: bool
    max_retries: int
    retry_delay_seconds: int


def queue_retries_failure(queue: RetryRules, status: TaskStatus, retries: int) -> bool:
    """Whether the queue makes a retry task for a task that failed with `status` after
    `retries` retries: its switch for that failure is on and retries are left."""
    return bool(getattr(queue, RETRY_SWITCH[status])) and retries < queue.max_retries
