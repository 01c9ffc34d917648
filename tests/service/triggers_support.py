"""Trigger tests in process: one app per store (SQLite and PostgreSQL), triggers written as
rows (the engine's input), the rest (robots, processes, queues, tasks) through the API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from robofleet.server.db.audit import AuditActor
from robofleet.server.db.tables import (
    AccountRow,
    JobRow,
    ProcessRow,
    QueueRow,
    RobotGroupRow,
    RobotRow,
    TriggerFireRow,
    TriggerRow,
)
from robofleet.server.services.triggers.firing import FireOutcome, FireRequest, fire
from tests.service.conftest import Service, Tenant, make_tenant

TESTER = AuditActor(kind="system", guid=None, name="trigger tests", account_id=None)


@dataclass
class Place:
    """A tenant with the ids a trigger row needs."""

    tenant: Tenant
    account_id: int

    @property
    def runtime(self) -> Any:
        return self.tenant.service.runtime

    def id_of(self, model: Any, guid_or_name: str) -> int:
        with self.runtime.db.read() as session:
            column = model.name if model is QueueRow else model.guid
            found = session.scalar(
                select(model.id).where(model.account_id == self.account_id, column == guid_or_name)
            )
            assert found is not None, guid_or_name
            return int(found)

    def trigger(self, process: str, **columns: Any) -> int:
        values: dict[str, Any] = {
            "name": f"trigger-{uuid.uuid4().hex[:8]}",
            "schedule_kind": "cron",
            "cron_tab": "0 * * * *",
        }
        values.update(columns)
        with self.runtime.db.write(actor=TESTER) as session:
            row = TriggerRow(
                account_id=self.account_id,
                process_id=self.id_of(ProcessRow, process),
                **values,
            )
            session.add(row)
            session.flush()
            return int(row.id)

    def robot(self, guid: str) -> int:
        return self.id_of(RobotRow, guid)

    def group(self, guid: str) -> int:
        return self.id_of(RobotGroupRow, guid)

    def queue(self, name: str) -> int:
        return self.id_of(QueueRow, name)

    def row(self, trigger_id: int) -> TriggerRow:
        with self.runtime.db.read() as session:
            found = session.get(TriggerRow, trigger_id)
            assert found is not None
            return found

    def update(self, trigger_id: int, **columns: Any) -> None:
        with self.runtime.db.write(actor=TESTER) as session:
            row = session.get(TriggerRow, trigger_id)
            assert row is not None
            for name, value in columns.items():
                setattr(row, name, value)

    def jobs(self, trigger_id: int) -> list[JobRow]:
        with self.runtime.db.read() as session:
            return list(
                session.scalars(
                    select(JobRow).where(JobRow.schedule_id == trigger_id).order_by(JobRow.id)
                )
            )

    def fires(self, trigger_id: int) -> list[TriggerFireRow]:
        with self.runtime.db.read() as session:
            return list(
                session.scalars(
                    select(TriggerFireRow)
                    .where(TriggerFireRow.trigger_id == trigger_id)
                    .order_by(TriggerFireRow.id)
                )
            )

    def fire(
        self, trigger_id: int, now: datetime, reason: str = "schedule", key: str | None = None
    ) -> FireOutcome:
        return fire(
            self.runtime,
            FireRequest(
                trigger_id=trigger_id,
                reason=reason,
                fire_key=key or f"{reason}:{uuid.uuid4().hex}",
                scheduled_at=now if reason in ("schedule", "missed") else None,
                now=now,
            ),
        )

    def set_job_status(self, job_id: int, status: int, robot_id: int | None = None) -> None:
        with self.runtime.db.write(actor=TESTER) as session:
            job = session.get(JobRow, job_id)
            assert job is not None
            job.status = status
            if robot_id is not None:
                job.robot_id = robot_id


def place_in(service: Service) -> Place:
    tenant = make_tenant(service)
    with service.runtime.db.read() as session:
        account = session.scalar(select(AccountRow.id).where(AccountRow.guid == tenant.guid))
    assert account is not None
    return Place(tenant, int(account))
