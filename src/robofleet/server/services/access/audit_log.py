"""Reading the audit trail."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from robofleet.server.db.tables import AuditRow
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.base import Page
from robofleet.server.schemas.identity import AuditFilter, AuditRead
from robofleet.server.services.access.caller import Caller


def list_audit(runtime: Runtime, caller: Caller, query: AuditFilter) -> Page[AuditRead]:
    caller.require(Screen.AUDIT, Action.READ)
    conditions = [AuditRow.account_id == caller.account_id]
    if query.object_guid:
        conditions.append(AuditRow.object_guid == query.object_guid.lower())
    if query.object_type:
        conditions.append(AuditRow.object_type == query.object_type)
    if query.action:
        conditions.append(AuditRow.action == query.action)
    if query.actor:
        conditions.append(
            or_(AuditRow.actor_guid == query.actor.lower(), AuditRow.actor_name == query.actor)
        )
    if query.since:
        conditions.append(AuditRow.at >= query.since)
    if query.until:
        conditions.append(AuditRow.at < query.until)
    with runtime.db.read() as session:
        total = session.scalar(select(func.count()).select_from(AuditRow).where(*conditions))
        rows = session.scalars(
            select(AuditRow)
            .where(*conditions)
            .order_by(AuditRow.id.desc())
            .offset(query.offset)
            .limit(query.count)
        ).all()
        return Page[AuditRead](
            items=[AuditRead.model_validate(row) for row in rows],
            total=total or 0,
            offset=query.offset,
            count=len(rows),
        )
