"""A queue's settings as the hot paths need them: a frozen snapshot, cached per request
reference (see runtime.caches), instead of a row read on every take and finish. Built from
a queue row by services.tasks.queues."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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
