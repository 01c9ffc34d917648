"""A queue's settings as the hot paths need them: a frozen snapshot, cached per request
reference (see services.caches), instead of a row read on every take and finish."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from robofleet.server.db.tables import QueueRow


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

    @classmethod
    def of(cls, row: QueueRow) -> QueueRules:
        return cls(
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
