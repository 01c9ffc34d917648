"""Take and finish as ONE statement each, for PostgreSQL: the status change, its history entry
and the GUIDs the answer names (queue, job, parent task), in one data-modifying CTE run in
autocommit, so a robot's take or finish is one round trip to the database.

The pick is written `id = ANY(ARRAY(SELECT ... FOR UPDATE SKIP LOCKED))`: the ARRAY is an
InitPlan run once, and the UPDATE then finds its rows by primary key. Written `id IN (SELECT
...)` or `= ANY($1)`, a generic plan (which PostgreSQL switches a prepared statement to after
five runs) may join by a Seq Scan on tasks instead: 6.6 ms instead of 0.12 ms on a queue of
30,000. tests/service/test_one_trip_plans.py checks the generic plan.

The statements take the same parameters as claims.take_from_queue and finish_statement, plus
`p_actor` and `p_reason` for the history entry and, for a take, `p_robot_job` (see take_cte).
"""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    CTE,
    ColumnElement,
    Integer,
    Select,
    String,
    Table,
    Update,
    any_,
    bindparam,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from robofleet.contract import JobStatus
from robofleet.server.db.dialect import POSTGRESQL
from robofleet.server.db.tables import JobRow, QueueRow
from robofleet.server.db.tables.queues import TASK_TABLE as TASKS
from robofleet.server.db.task_statements.claims import finish_statement, pick_new
from robofleet.server.db.task_statements.records import (
    EVENTS,
    IN_PROGRESS,
    LEASE_COLUMNS,
    RETURNED,
    TaskRecord,
    take_order_key,
)

JOBS = cast(Table, JobRow.__table__)
QUEUES = cast(Table, QueueRow.__table__)


class LinkGuids(NamedTuple):
    """The GUIDs a task's read shape names, joined in the same statement."""

    queue: str
    job: str | None
    parent: str | None


_RUNNING = [int(JobStatus.IN_PROGRESS), int(JobStatus.STOPPING)]


def _robot_job() -> Any:
    """The running job of the robot `p_lease_robot_id` when `p_robot_job` is set: the job a
    robot's take links its tasks to when the request names none (leases.job_for)."""
    return (
        select(JOBS.c.id)
        .where(
            bindparam("p_robot_job", type_=Integer) == 1,
            JOBS.c.robot_id == bindparam("p_lease_robot_id"),
            JOBS.c.status.in_(_RUNNING),
        )
        .limit(1)
        .scalar_subquery()
    )


def _with_history_and_links(changed: CTE, from_status: int, to_status: Any) -> Select[Any]:
    """SELECT the changed rows with their link GUIDs, the history entries inserted beside."""
    history = insert(EVENTS).from_select(
        ["account_id", "task_id", "from_status", "to_status", "actor", "reason", "at"],
        select(
            changed.c.account_id,
            changed.c.id,
            literal(from_status, Integer),
            to_status,
            bindparam("p_actor", type_=String),
            bindparam("p_reason", type_=String),
            bindparam("p_now"),
        ),
    )
    parents = TASKS.alias("parent")
    jobs = JOBS.alias("job")
    queues = QUEUES.alias("queue")
    # Correlated lookups by primary key rather than joins: a generic plan cannot turn them
    # into a hash join over a whole table.
    return (
        select(
            *(changed.c[name] for name in TaskRecord._fields),
            select(queues.c.guid).where(queues.c.id == changed.c.queue_id).scalar_subquery(),
            select(jobs.c.guid).where(jobs.c.id == changed.c.job_id).scalar_subquery(),
            select(parents.c.guid)
            .where(parents.c.id == changed.c.parent_task_id)
            .scalar_subquery(),
        )
        .select_from(changed)
        .add_cte(history.cte("history"))
    )


def _array_of(picked: Select[Any]) -> Any:
    """ARRAY(SELECT ...): PostgreSQL's array constructor over the picked ids."""
    return func.array(picked.scalar_subquery(), type_=ARRAY(Integer))


def take_cte(conditions: list[ColumnElement[bool]]) -> Select[Any]:
    """Take the first `p_count` New tasks matching `conditions` (the queue, and any filters)
    for a lease. Parameters: those of claims.take_from_queue, p_actor, p_reason, and
    p_robot_job (1: with no p_job_id, link the tasks to the lease robot's running job)."""
    picked = pick_new(conditions, POSTGRESQL)
    taken = (
        update(TASKS)
        .where(TASKS.c.id == any_(_array_of(picked)))  # see the module docstring
        .values(
            status=IN_PROGRESS,
            started_at=bindparam("p_now"),
            status_changed_at=bindparam("p_now"),
            updated_at=bindparam("p_now"),
            job_id=func.coalesce(
                bindparam("p_job_id", type_=Integer), _robot_job(), TASKS.c.job_id
            ),
            **{column: bindparam(f"p_{column}") for column in LEASE_COLUMNS},
        )
        .returning(*RETURNED)
        .cte("taken")
    )
    return _with_history_and_links(taken, IN_PROGRESS, literal(IN_PROGRESS, Integer))


@cache
def take_from_queue() -> Select[Any]:
    """take_cte on the whole queue `p_queue_id`, built once."""
    return take_cte([TASKS.c.queue_id == bindparam("p_queue_id")])


@cache
def finish_cte(*, set_output: bool, set_error: bool, finished: bool) -> Select[Any]:
    """claims.finish_statement with its history entries and links. Parameters: those of
    finish_statement, p_actor and p_reason."""
    statement: Update = finish_statement(
        set_output=set_output, set_error=set_error, finished=finished
    )
    finished_rows = statement.cte("finished")
    return _with_history_and_links(finished_rows, IN_PROGRESS, bindparam("p_status", type_=Integer))


def run(
    connection: Connection, statement: Select[Any], params: dict[str, Any]
) -> list[tuple[TaskRecord, LinkGuids]]:
    """Run a take_cte or finish_cte; the rows changed, in take order, with their links."""
    width = len(TaskRecord._fields)
    rows = [
        (TaskRecord._make(row[:width]), LinkGuids(*row[width:]))
        for row in connection.execute(statement, params)
    ]
    rows.sort(key=lambda pair: take_order_key(pair[0]))
    return rows
