"""The tables the lean statements (db.*_statements, db.task_statements) are written against,
as Core `Table`s of the ORM's mapped classes: one definition for all of them."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from robofleet.server.db.tables import (
    JobRow,
    LogRow,
    ProcessRow,
    ProcessVersionRow,
    QueueRow,
    RobotGroupRow,
    RobotRow,
)
from robofleet.server.db.tables.audit import AuditRow

AUDIT = cast(Table, AuditRow.__table__)
JOBS = cast(Table, JobRow.__table__)
LOGS = cast(Table, LogRow.__table__)
PROCESSES = cast(Table, ProcessRow.__table__)
QUEUES = cast(Table, QueueRow.__table__)
ROBOTS = cast(Table, RobotRow.__table__)
ROBOT_GROUPS = cast(Table, RobotGroupRow.__table__)
VERSIONS = cast(Table, ProcessVersionRow.__table__)
