"""The only moves allowed between job statuses (robofleet.contract.JobStatus)."""

from __future__ import annotations

from robofleet.contract import FINAL_JOB_STATUSES
from robofleet.contract import JobStatus as JobStatus
from robofleet.server.domain.errors import InvalidTransition

FINAL = FINAL_JOB_STATUSES
ACTIVE = frozenset(
    {JobStatus.IN_PROGRESS, JobStatus.STOPPING, JobStatus.ABORTING, JobStatus.UNKNOWN}
)
"""A robot is busy while it holds a job in one of these (or a taken Pending job)."""


def occupies_robot(status: int, taken: bool) -> bool:
    """Whether a job keeps its robot from taking another: running, stopping, aborting or
    unknown, or taken and not yet started. db.claims.jobs_held_by is the same rule in SQL."""
    return JobStatus(status) in ACTIVE or (status == JobStatus.PENDING and taken)


_ENDINGS = frozenset({JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.ABORTED})

FAILS_TASKS = frozenset({JobStatus.FAILED, JobStatus.STOPPED, JobStatus.ABORTED})
"""A job that ends in one of these fails its In Progress tasks, in queues whose tasks change
status with their job (services.jobs.state.change_job_status)."""

ALLOWED: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.CREATED: frozenset({JobStatus.PENDING, JobStatus.STOPPED, JobStatus.ABORTED}),
    # A pending job can be cancelled before it starts, and goes Unknown if its robot took it
    # and then fell silent before starting it.
    JobStatus.PENDING: frozenset(
        {
            JobStatus.IN_PROGRESS,
            JobStatus.STOPPING,
            JobStatus.ABORTING,
            JobStatus.STOPPED,
            JobStatus.ABORTED,
            JobStatus.FAILED,
            JobStatus.UNKNOWN,
        }
    ),
    JobStatus.IN_PROGRESS: _ENDINGS | {JobStatus.STOPPING, JobStatus.ABORTING, JobStatus.UNKNOWN},
    JobStatus.STOPPING: _ENDINGS | {JobStatus.ABORTING, JobStatus.UNKNOWN},
    JobStatus.ABORTING: _ENDINGS | {JobStatus.UNKNOWN},
    # The robot called in again: the job is running after all, or its result arrives late.
    JobStatus.UNKNOWN: _ENDINGS | {JobStatus.IN_PROGRESS, JobStatus.STOPPING, JobStatus.ABORTING},
}


def check_transition(current: JobStatus, requested: JobStatus) -> None:
    """Raise InvalidTransition unless the table allows `current` -> `requested`."""
    if requested not in ALLOWED.get(current, frozenset()):
        raise InvalidTransition("job", current.label, requested.label)
