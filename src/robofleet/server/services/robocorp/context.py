"""Who calls the /robocorp API: the job a job token names, checked on every call."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from robofleet.server.db.base import utcnow
from robofleet.server.db.tables import AccountRow, JobRow, ProcessRow, QueueRow, RobotRow, TaskRow
from robofleet.server.domain.errors import (
    Conflict,
    Forbidden,
    MalformedRequest,
    NotFound,
    Unauthenticated,
)
from robofleet.server.domain.jobs import FINAL, JobStatus
from robofleet.server.runtime import Runtime
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.principals import robot_principal


@dataclass(frozen=True)
class Run:
    """One job seen as a Robocorp process run: its robot calls as itself."""

    caller: Caller
    account_guid: str
    job_id: int
    job_guid: str
    process_guid: str
    robot_id: int
    input_queue_id: int | None
    """The queue of the job's default task, where reserve-next-work-item takes from."""
    ended: bool
    """The job is final (its token still works for the grace period)."""

    def require_live(self, what: str) -> None:
        """Nothing new is taken or made for a job that has ended: nobody would settle it."""
        if self.ended:
            raise Conflict(f"job {self.job_guid} has ended: it cannot {what}", code="job_ended")


def bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "send 'Authorization: Bearer <job token>' (the Robocorp.Token of the job)",
            reason="token_missing",
        )
    return token.strip()


def _usable(job: JobRow, grace_seconds: int) -> bool:
    if JobStatus(job.status) not in FINAL:
        return True
    ended = job.completed_at or job.status_changed_at
    return ended is not None and utcnow() <= ended + timedelta(seconds=grace_seconds)


def open_run(runtime: Runtime, session: Session, authorization: str | None, workspace: str) -> Run:
    """The run the token names, if it may still call and `workspace` is its account."""
    claim = runtime.job_tokens.decode(bearer_token(authorization))
    account = session.scalar(select(AccountRow).where(AccountRow.guid == claim.account_guid))
    job = (
        session.scalar(
            select(JobRow).where(JobRow.guid == claim.job_guid, JobRow.account_id == account.id)
        )
        if account is not None
        else None
    )
    if account is None or job is None or job.robot_id is None:
        raise Unauthenticated("the job of this token no longer exists", reason="token_invalid")
    if not _usable(job, runtime.settings.robocorp_token_grace_seconds):
        raise Unauthenticated(
            f"the job token expired: job {job.guid} has ended", reason="token_expired"
        )
    if workspace.strip().lower() != account.guid:
        raise Forbidden(
            f"the token is for workspace {account.guid}, not {workspace}", reason="wrong_workspace"
        )
    robot = session.get(RobotRow, job.robot_id)
    process = session.get(ProcessRow, job.process_id)
    assert robot is not None and process is not None
    default = session.get(TaskRow, job.task_id) if job.task_id is not None else None
    return Run(
        caller=Caller(robot_principal(session, robot, with_secret=True)),
        account_guid=account.guid,
        job_id=job.id,
        job_guid=job.guid,
        process_guid=process.guid,
        robot_id=robot.id,
        input_queue_id=default.queue_id if default is not None else None,
        ended=JobStatus(job.status) in FINAL,
    )


@dataclass(frozen=True)
class Call:
    """The parts of every authenticated call: the token, the workspace and the base URL."""

    authorization: str | None
    workspace: str
    base: str = ""


def authorize(runtime: Runtime, call: Call) -> Run:
    with runtime.db.read() as session:
        return open_run(runtime, session, call.authorization, call.workspace)


def parse_json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body) if body.strip() else None
    except ValueError as exc:
        raise MalformedRequest(f"the {what} is not valid JSON ({exc})") from None


def check_run_path(run: Run, process: str, run_id: str, step_run: str) -> None:
    """The process and run ids in a process-API path must be this token's."""
    if process.strip().lower() != run.process_guid:
        raise NotFound("process", process)
    for given in (run_id, step_run):
        if given.strip().lower() != run.job_guid:
            raise NotFound("process run", given)


def queue_of(session: Session, queue_id: int) -> QueueRow:
    queue = session.get(QueueRow, queue_id)
    assert queue is not None
    return queue
