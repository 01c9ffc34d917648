"""Every (from, to) pair of each status table against a matrix written out here by hand, so a
change to a table shows up as a changed line of this file, not as a silently new rule.

Rows are the current status, columns the requested one, in code order; `x` allowed, `.` refused.
"""

from __future__ import annotations

from enum import IntEnum
from itertools import product
from typing import TypeVar

import pytest

from robofleet.server.domain import jobs, tasks
from robofleet.server.domain.errors import InvalidTransition
from robofleet.server.domain.jobs import JobStatus
from robofleet.server.domain.tasks import TaskStatus

JOBS = """
                 0 1 2 3 4 5 6 7 8 9
CREATED          . x . x . . . x . .
PENDING          . . x x . x x x x x
ABORTING         . . . x x x . x . x
ABORTED          . . . . . . . . . .
SUCCESS          . . . . . . . . . .
FAILED           . . . . . . . . . .
STOPPING         . . x x x x . x . x
STOPPED          . . . . . . . . . .
IN_PROGRESS      . . x x x x x x . x
UNKNOWN          . . x x x x x x x .
"""

TASKS_PROCESSING = """
                    0 1 2 3 4 5 6
NEW                 . x . . . . x
IN_PROGRESS         . . x x x x x
SUCCESS             . . . . . . .
FAILED_APPLICATION  . . . . . . .
FAILED_BUSINESS     . . . . . . .
POSTPONED           x . . . . . .
ABANDONED           . . . . . . .
"""

TASKS_MANUAL = """
                    0 1 2 3 4 5 6
NEW                 . . x x x x x
IN_PROGRESS         x . x x x x x
SUCCESS             x . . x x x x
FAILED_APPLICATION  x . x . x x x
FAILED_BUSINESS     x . x x . x x
POSTPONED           x . x x x . x
ABANDONED           x . x x x x .
"""

S = TypeVar("S", bound=IntEnum)


def allowed_pairs(matrix: str, statuses: type[S]) -> set[tuple[S, S]]:
    """The `x` cells of a matrix; it must list every status once, as rows and as columns."""
    header, *rows = [line.split() for line in matrix.strip().splitlines()]
    assert [int(code) for code in header] == [int(s) for s in statuses]
    assert [row[0] for row in rows] == [s.name for s in statuses]
    return {
        (statuses[row[0]], statuses(int(code)))
        for row in rows
        for code, cell in zip(header, row[1:], strict=True)
        if cell == "x"
    }


def test_job_transitions_match_the_matrix() -> None:
    expected = allowed_pairs(JOBS, JobStatus)
    for current, requested in product(JobStatus, JobStatus):
        if (current, requested) in expected:
            jobs.check_transition(current, requested)
        else:
            with pytest.raises(InvalidTransition) as refused:
                jobs.check_transition(current, requested)
            assert refused.value.code == "invalid_transition"
            assert refused.value.message == (
                f"job cannot move from {current.label} to {requested.label}"
            )


@pytest.mark.parametrize(("matrix", "manual"), [(TASKS_PROCESSING, False), (TASKS_MANUAL, True)])
def test_task_transitions_match_the_matrix(matrix: str, manual: bool) -> None:
    expected = allowed_pairs(matrix, TaskStatus)
    for current, requested in product(TaskStatus, TaskStatus):
        if (current, requested) in expected:
            tasks.check_transition(current, requested, manual=manual)
        else:
            with pytest.raises(InvalidTransition) as refused:
                tasks.check_transition(current, requested, manual=manual)
            assert refused.value.message == (
                f"task cannot move from {current.label} to {requested.label}"
            )


def test_final_job_statuses_are_exactly_the_rows_with_no_way_out() -> None:
    dead_ends = {s for s in JobStatus if not any(a == s for a, _ in allowed_pairs(JOBS, JobStatus))}
    assert dead_ends == set(jobs.FINAL)


def test_only_a_take_sets_in_progress() -> None:
    """In Progress carries a lease, so no operator sets it, and only New is taken."""
    processing = allowed_pairs(TASKS_PROCESSING, TaskStatus)
    assert {a for a, b in processing if b == TaskStatus.IN_PROGRESS} == {TaskStatus.NEW}
    assert not {b for _, b in allowed_pairs(TASKS_MANUAL, TaskStatus)} & {TaskStatus.IN_PROGRESS}
