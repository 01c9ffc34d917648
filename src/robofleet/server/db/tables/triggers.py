"""Triggers (Sherpa's schedules): what creates jobs on its own, and the record of each fire.

A trigger combines a schedule with an optional queue condition and an optional e-mail
condition. The schedule's fields are columns (the scheduler selects on `next_fire_at`); the
queue and e-mail conditions are read whole when the trigger is evaluated, so each is one JSON
document (`queue_condition`, `mail_condition`), except the queue it watches, which task
arrivals look up by."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from robofleet.contract import TriggerStatus
from robofleet.server.db.base import (
    Base,
    FolderScoped,
    IdType,
    NullableJson,
    SoftDelete,
    TenantEntity,
    live_unique,
    utcnow,
)


class TriggerRow(TenantEntity, SoftDelete, FolderScoped):
    __tablename__ = "triggers"
    __audit_entity__ = "trigger"
    __table_args__ = (
        live_unique("uq_triggers_name_live", "account_id", "name"),
        # The scheduler's one read per tick: enabled triggers whose next fire is due.
        Index(
            "ix_triggers_due",
            "next_fire_at",
            sqlite_where=text(f"status = {int(TriggerStatus.ENABLED)} AND NOT is_deleted"),
            postgresql_where=text(f"status = {int(TriggerStatus.ENABLED)} AND NOT is_deleted"),
        ),
    )

    name: Mapped[str] = mapped_column(String(256))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[int] = mapped_column(Integer, default=int(TriggerStatus.ENABLED))
    """contract.TriggerStatus: 1 enabled, 0 disabled, 2 completed."""
    process_id: Mapped[int] = mapped_column(IdType, ForeignKey("processes.id"), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=2)
    """Of the jobs it creates, on the jobs' scale (1 Low .. 3 High); due triggers fire
    highest first."""
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Parameters of the jobs it creates."""

    # Schedule. processing_type: 1 continuous, 2 by schedule (Sherpa's API values).
    processing_type: Mapped[int] = mapped_column(Integer, default=2)
    schedule_kind: Mapped[str] = mapped_column(String(16), default="cron")
    """continuous | cron | last_day | nth_day (domain.schedules.ScheduleKind)."""
    cron_tab: Mapped[str | None] = mapped_column(String(256), nullable=True)
    day_of_month: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """For nth_day: the n-th (working) day of the month, 1..31."""
    time_of_day: Mapped[str | None] = mapped_column(String(8), nullable=True)
    """For last_day and nth_day: HH:MM in the trigger's time zone."""
    working_days: Mapped[bool] = mapped_column(Boolean, default=False)
    """last_day and nth_day count working days of the calendar, not calendar days."""
    skip_non_working: Mapped[bool] = mapped_column(Boolean, default=False)
    """No fire on a non-working day of the calendar."""
    calendar_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("resources.id"), nullable=True
    )
    """A Type 3 (Calendar) resource."""
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    window_start: Mapped[str | None] = mapped_column(String(8), nullable=True)
    window_end: Mapped[str | None] = mapped_column(String(8), nullable=True)
    """Run only between HH:MM and HH:MM (local time; may wrap past midnight)."""
    start_at: Mapped[datetime | None] = mapped_column(nullable=True)
    end_at: Mapped[datetime | None] = mapped_column(nullable=True)
    check_missed: Mapped[bool] = mapped_column(Boolean, default=False)

    # Robots.
    robot_type: Mapped[int] = mapped_column(Integer, default=1)
    """1 one robot, 2 a robot group (stored in Resource's scheme; the API also accepts
    Sherpa's 0/1 reading, see docs)."""
    robot_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("robots.id"), nullable=True)
    robot_group_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("robot_groups.id"), nullable=True
    )
    max_running_robots: Mapped[int] = mapped_column(Integer, default=0)
    """0 = no cap; counts the trigger's jobs In Progress, Pending and Unknown."""
    when_busy: Mapped[str] = mapped_column(String(16), default="skip")
    """skip | any_free (a job without a robot, for the group's first free one) |
    fewest_pending (on the busy robot with the fewest pending jobs)."""
    stop_after_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    abort_after_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)

    # Limits; the counters grow only when a job is really created.
    max_runs: Mapped[int] = mapped_column(Integer, default=0)
    max_monthly_runs: Mapped[int] = mapped_column(Integer, default=0)
    runs: Mapped[int] = mapped_column(Integer, default=0, info={"audit": False})
    month_runs: Mapped[int] = mapped_column(Integer, default=0, info={"audit": False})
    month: Mapped[str] = mapped_column(String(7), default="", info={"audit": False})
    """The month (YYYY-MM, trigger's time zone) month_runs counts."""

    # Conditions beside the schedule.
    queue_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("queues.id"), nullable=True, index=True
    )
    queue_condition: Mapped[dict[str, Any] | None] = mapped_column(NullableJson, nullable=True)
    mail_condition: Mapped[dict[str, Any] | None] = mapped_column(NullableJson, nullable=True)

    # The scheduler's state, not audited (it changes on every fire).
    next_fire_at: Mapped[datetime | None] = mapped_column(nullable=True, info={"audit": False})
    last_fire_at: Mapped[datetime | None] = mapped_column(nullable=True, info={"audit": False})
    last_checked_at: Mapped[datetime | None] = mapped_column(nullable=True, info={"audit": False})
    """When a condition (queue, e-mail) was last evaluated."""


class TriggerFireRow(Base):
    """One fire of a trigger: a job created, or a skip and why. `fire_key` makes a fire
    happen once: the scheduled time in UTC (ISO) for schedule fires, a unique key for test,
    queue and e-mail fires; it is inserted in the same transaction as the job."""

    __tablename__ = "trigger_fires"
    __table_args__ = (
        UniqueConstraint("trigger_id", "fire_key", name="uq_trigger_fires_key"),
        Index("ix_trigger_fires_trigger", "trigger_id", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("accounts.id"), index=True)
    trigger_id: Mapped[int] = mapped_column(IdType, ForeignKey("triggers.id"))
    fire_key: Mapped[str] = mapped_column(String(64))
    scheduled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    """The fire time the schedule gave (None for queue, e-mail and test fires)."""
    reason: Mapped[str] = mapped_column(String(16))
    """schedule | missed | queue | mail | test | continuous."""
    outcome: Mapped[str] = mapped_column(String(16))
    """created | skipped."""
    detail: Mapped[str] = mapped_column(Text, default="")
    """Why it was skipped (or what it created), in words."""
    job_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("jobs.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
