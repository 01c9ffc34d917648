"""The reads the web's queue pages add: one queue's counts per status (the live page's
probe) and the task listing's period (`created_before` closing `CreatedAfter`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from robofleet.server.db.tables import AccountRow
from robofleet.server.schemas.queues import TaskFilter
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.principals import account_key_principal
from robofleet.server.services.tasks import queues, reading
from tests.service.conftest import Tenant
from tests.support.queues import add, make_queue, take


def key_caller(tenant: Tenant) -> Caller:
    with tenant.service.runtime.db.read() as session:
        account = session.scalar(select(AccountRow).where(AccountRow.guid == tenant.guid))
        assert account is not None
        return Caller(account_key_principal(session, account.id, str(uuid.uuid4())))


def test_one_queue_counts_every_status(tenant: Tenant) -> None:
    runtime, caller = tenant.service.runtime, key_caller(tenant)
    queue = make_queue(tenant.api)
    other = make_queue(tenant.api)
    for name in ("a", "b", "c"):
        add(tenant.api, queue, name)
    add(tenant.api, other, "elsewhere")
    take(tenant.api, queue, 1)
    counts = queues.queue_counts(runtime, caller, queue)
    assert list(counts) == [
        "New",
        "In Progress",
        "Success",
        "Failed (Application)",
        "Failed (Business)",
        "Postponed",
        "Abandoned",
    ]
    assert (counts["New"], counts["In Progress"], sum(counts.values())) == (2, 1, 3)
    listed = {q.name: q.counts for q in queues.list_queues(runtime, caller)}
    assert listed[queue] == counts


def test_tasks_are_listed_for_a_period(tenant: Tenant) -> None:
    runtime, caller = tenant.service.runtime, key_caller(tenant)
    queue = make_queue(tenant.api)
    add(tenant.api, queue, "today")
    now = datetime.now(UTC)
    everything = TaskFilter(created_after=now - timedelta(days=1))

    def names(before: datetime | None) -> list[str]:
        tasks = reading.filter_list(runtime, caller, queue, everything, created_before=before)
        return [t.name for t in tasks]

    assert names(None) == ["today"]
    assert names(now + timedelta(days=1)) == ["today"]
    assert names(now - timedelta(hours=1)) == []
