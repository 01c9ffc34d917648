"""Atomic claims. With the engine set-up, the only dialect-specific queries.

PostgreSQL: `FOR UPDATE SKIP LOCKED`, so concurrent claimers skip each other's rows instead of
waiting. SQLite: the claim runs in a write transaction opened with BEGIN IMMEDIATE, which
already excludes every other writer, so a plain SELECT then UPDATE is atomic.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from robofleet.server.db.base import literal_int
from robofleet.server.db.tables import JobRow
from robofleet.server.domain.jobs import JobStatus


def next_job_for_robot(
    session: Session, *, account_id: int, robot_id: int, group_ids: list[int]
) -> JobRow | None:
    """The pending job this robot should take: its own, its groups', or anyone's; highest
    priority first, then oldest. The row is locked for the caller's transaction."""
    eligible = or_(
        JobRow.requested_robot_id == robot_id,
        and_(
            JobRow.requested_robot_id.is_(None),
            or_(JobRow.robot_group_id.is_(None), JobRow.robot_group_id.in_(group_ids))
            if group_ids
            else JobRow.robot_group_id.is_(None),
        ),
    )
    query = (
        select(JobRow)
        .where(
            JobRow.account_id == account_id,
            JobRow.status == literal_int(JobStatus.PENDING),
            JobRow.claimed_at.is_(None),
            JobRow.is_deleted.is_(False),
            eligible,
        )
        .order_by(JobRow.priority.desc(), JobRow.id)
        .limit(1)
    )
    return session.scalar(skip_locked(session, query))


SelectT = TypeVar("SelectT", bound=Select[Any])


def skip_locked(session: Session, query: SelectT) -> SelectT:
    """Lock the selected rows, skipping rows other transactions hold (PostgreSQL)."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query
