"""All tables. Importing this package registers every table on Base.metadata."""

from robofleet.server.db.tables.audit import AuditRow, SchedulerLeaseRow
from robofleet.server.db.tables.identity import (
    AccessFolderRow,
    AccountRow,
    ApiKeyRow,
    RoleFolderRow,
    RoleRow,
    UserRoleRow,
    UserRow,
    WebSessionRow,
)
from robofleet.server.db.tables.logs import LogRow
from robofleet.server.db.tables.processes import JobRow, ProcessRow, ProcessVersionRow
from robofleet.server.db.tables.queues import QueueRow, TaskEventRow, TaskRow
from robofleet.server.db.tables.resources import DataKeyRow, ResourceGroupRow, ResourceRow
from robofleet.server.db.tables.robots import RobotGroupMemberRow, RobotGroupRow, RobotRow
from robofleet.server.db.tables.storage import StorageFileRow, StorageFolderRow
from robofleet.server.db.tables.trigger_mails import TriggerMailRow
from robofleet.server.db.tables.triggers import TriggerFireRow, TriggerRow

__all__ = [
    "AccessFolderRow",
    "AccountRow",
    "ApiKeyRow",
    "AuditRow",
    "DataKeyRow",
    "JobRow",
    "LogRow",
    "ProcessRow",
    "ProcessVersionRow",
    "QueueRow",
    "ResourceGroupRow",
    "ResourceRow",
    "RobotGroupMemberRow",
    "RobotGroupRow",
    "RobotRow",
    "RoleFolderRow",
    "RoleRow",
    "SchedulerLeaseRow",
    "StorageFileRow",
    "StorageFolderRow",
    "TaskEventRow",
    "TaskRow",
    "TriggerFireRow",
    "TriggerMailRow",
    "TriggerRow",
    "UserRoleRow",
    "UserRow",
    "WebSessionRow",
]
