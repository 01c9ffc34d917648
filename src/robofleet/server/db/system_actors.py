"""The actors that are not a caller: who the system writes as, and the writes it deliberately
keeps out of the audit log. Every `Database.write` names its actor, so skipping the audit is a
decision visible at the call site and explained here."""

from __future__ import annotations

from robofleet.server.db.audit import AuditActor, NotAudited

SCHEDULER = AuditActor(kind="system", guid=None, name="scheduler", account_id=None)
"""The scheduler leader: audited where it changes audited rows (robots, jobs); its name is
also the actor of the task moves it makes (task histories)."""

FIRST_START = AuditActor(kind="system", guid=None, name="robofleet", account_id=None)
"""Creating the first account and its administrator on an empty database."""

QUEUE_RETRY_RULE = "queue retry rule"
"""Task history actor of a retry task a queue's rule creates."""

QUEUE_AUTO_CHANGE_STATUS = "queue auto change status"
"""Task history actor of a task failed because its job ended."""

# Writes kept out of the audit log.

ROBOT_PROTOCOL = NotAudited(
    "heartbeats and job claims come every few seconds per robot, too many to audit row by row"
)
TASK_TRAFFIC = NotAudited(
    "tasks are added, taken and finished at high rates; each task keeps its own history"
)
SCHEDULER_TASK_TIMERS = NotAudited(
    "the scheduler's task moves are recorded in each task's history, as SCHEDULER"
)
SCHEDULER_LEADERSHIP = NotAudited("the scheduler's leadership lease, renewed every tick")
ROBOT_LOG_LINES = NotAudited("log lines are their own record; purging them is audited")
LOGIN = NotAudited("logins and failed logins are recorded as audit events of their own")
RETENTION = NotAudited(
    "the scheduler deletes log lines and audit entries past their retention days "
    "(ROBOFLEET_STORE_LOGS_DAYS, ROBOFLEET_STORE_AUDIT_DAYS); auditing that would refill the trail"
)
TRIGGER_FIRES = NotAudited(
    "the scheduler's trigger fires (schedule, continuous, queue) come by the thousand a minute; "
    "each is recorded in trigger_fires with the job it created or why it skipped"
)
WEB_SESSIONS = NotAudited(
    "web sessions are opened and ended by sign-in and sign-out, which are audited themselves"
)
