"""Take and finish as ONE statement each, for PostgreSQL: the status change, its history entry
and the GUIDs the answer names (queue, job, parent task), in one data-modifying CTE run in
autocommit, so a robot's take or finish is one round trip to the database.

The pick is written `id = ANY(ARRAY(SELECT ... FOR UPDATE SKIP LOCKED))`: the ARRAY is an
InitPlan run once, and the UPDATE then finds its rows by primary key. Written `id IN (SELECT
...)` or `= ANY($1)`, a generic plan (which PostgreSQL switches a prepared statement to after
five runs) may join by a Seq Scan on tasks instead: 6.6 ms instead of 0.12 ms on a queue of
30,000. tests/service/test_one_trip_plans.py checks the generic plan.

A take's count is written into the statement (one statement per count, kept in a bounded
cache), not bound: under a generic plan `LIMIT $n` is costed as a tenth of the queue, so on a
long queue PostgreSQL found the generic plan dearer than a custom one and planned the take
anew on every run (a quarter of the database's CPU in a queue drain).

The statements take the same parameters as claims.take_from_queue (but `p_count`) and
finish_statement, plus `p_actor` and `p_reason` for the history entry and, for a take,
`p_robot_job` (see take_cte).
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    CTE,
    BigInteger,
    ColumnElement,
    DateTime,
    Integer,
    Interval,
    Select,
    String,
    Update,
    any_,
    bindparam,
    column,
    func,
    insert,
    literal,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from robofleet.contract import JobStatus
from robofleet.server.db.core_tables import JOBS, QUEUES
from robofleet.server.db.dialect import POSTGRESQL
from robofleet.server.db.tables.queues import TASK_TABLE as TASKS
from robofleet.server.db.task_statements.claims import finish_statement, pick_new
from robofleet.server.db.task_statements.records import (
    EVENTS,
    IN_PROGRESS,
    LEASE_COLUMNS,
    NEW,
    RETURNED,
    TaskRecord,
    take_order_key,
)
from robofleet.server.db.task_statements.take_filters import FilterShape, shape_conditions

TAKES_KEPT = 256
"""Take statements kept built (by count, filter shape and job form): robots ask for a few
counts, and a client asking for every count up to the limit cannot grow memory unbounded."""


class LinkGuids(NamedTuple):
    """The GUIDs a task's read shape names, joined in the same statement."""

    queue: str
    job: str | None
    parent: str | None


_RUNNING = [int(JobStatus.IN_PROGRESS), int(JobStatus.STOPPING)]


def _robot_job(wanted: Any = None, robot_id: Any = None) -> Any:
    """The running job of the robot `robot_id` (default `p_lease_robot_id`) when `wanted`
    (default `p_robot_job`) is 1: the job a robot's take links its tasks to when the request
    names none (leases.job_for)."""
    return (
        select(JOBS.c.id)
        .where(
            (bindparam("p_robot_job", type_=Integer) if wanted is None else wanted) == 1,
            JOBS.c.robot_id == (bindparam("p_lease_robot_id") if robot_id is None else robot_id),
            JOBS.c.status.in_(_RUNNING),
        )
        .limit(1)
        .scalar_subquery()
    )


def _history(changed: CTE, from_status: int, to_status: Any, actor: Any = None) -> CTE:
    """The history entries of the changed rows, inserted beside the statement; by `p_actor`
    unless `actor` names each row's."""
    return (
        insert(EVENTS)
        .from_select(
            ["account_id", "task_id", "from_status", "to_status", "actor", "reason", "at"],
            select(
                changed.c.account_id,
                changed.c.id,
                literal(from_status, Integer),
                to_status,
                bindparam("p_actor", type_=String) if actor is None else actor,
                bindparam("p_reason", type_=String),
                bindparam("p_now"),
            ),
        )
        .cte("history")
    )


def _with_history_and_links(changed: CTE, from_status: int, to_status: Any) -> Select[Any]:
    """SELECT the changed rows with their link GUIDs, the history entries inserted beside."""
    history = _history(changed, from_status, to_status)
    return select(*_record_and_links(changed)).select_from(changed).add_cte(history)


def _record_and_links(changed: CTE) -> list[Any]:
    """The changed rows' columns (TaskRecord) and their link GUIDs (LinkGuids)."""
    parents = TASKS.alias("parent")
    jobs = JOBS.alias("job")
    queues = QUEUES.alias("queue")
    # Correlated lookups by primary key rather than joins: a generic plan cannot turn them
    # into a hash join over a whole table.
    return [
        *(changed.c[name] for name in TaskRecord._fields),
        select(queues.c.guid).where(queues.c.id == changed.c.queue_id).scalar_subquery(),
        select(jobs.c.guid).where(jobs.c.id == changed.c.job_id).scalar_subquery(),
        select(parents.c.guid).where(parents.c.id == changed.c.parent_task_id).scalar_subquery(),
    ]


def _array_of(picked: Select[Any]) -> Any:
    """ARRAY(SELECT ...): PostgreSQL's array constructor over the picked ids."""
    return func.array(picked.scalar_subquery(), type_=ARRAY(Integer))


def _take_values(job_id: Any, lease: dict[str, Any]) -> dict[str, Any]:
    """What a take sets: In Progress at `p_now`, linked to the job `job_id`, under the
    `lease` (an expression for each of LEASE_COLUMNS)."""
    now = bindparam("p_now", type_=TASKS.c.started_at.type)
    return {
        "status": IN_PROGRESS,
        "started_at": now,
        "status_changed_at": now,
        "updated_at": now,
        "job_id": job_id,
        **{column: lease[column] for column in LEASE_COLUMNS},
    }


def _taken(conditions: list[ColumnElement[bool]], job_id: Any, count: int) -> CTE:
    """UPDATE the first `count` New tasks matching `conditions` to In Progress under the
    lease, linked to the job `job_id` (an expression), RETURNING them."""
    picked = pick_new(conditions, POSTGRESQL, count)
    lease: dict[str, Any] = {column: bindparam(f"p_{column}") for column in LEASE_COLUMNS}
    return (
        update(TASKS)
        .where(TASKS.c.id == any_(_array_of(picked)))  # see the module docstring
        .values(_take_values(job_id, lease))
        .returning(*RETURNED)
        .cte("taken")
    )


def take_cte(conditions: list[ColumnElement[bool]], count: int) -> Select[Any]:
    """Take the first `count` New tasks matching `conditions` (the queue, and any filters)
    for a lease. Parameters: those of claims.take_from_queue but p_count, p_actor, p_reason,
    and p_robot_job (1: with no p_job_id, link the tasks to the lease robot's running job)."""
    job_id = func.coalesce(bindparam("p_job_id", type_=Integer), _robot_job(), TASKS.c.job_id)
    taken = _taken(conditions, job_id, count)
    return _with_history_and_links(taken, NEW, literal(IN_PROGRESS, Integer))


@lru_cache(maxsize=TAKES_KEPT)
def take_from_queue(count: int, shape: FilterShape | None = None) -> Select[Any]:
    """take_cte on the whole queue `p_queue_id`, or narrowed by filters of `shape` (their
    values bound: take_filters), built once for each count."""
    conditions = [TASKS.c.queue_id == bindparam("p_queue_id"), *shape_conditions(shape)]
    return take_cte(conditions, count)


@cache
def finish_cte(
    *,
    set_output: bool,
    set_error: bool,
    finished: bool,
    unless_retried: bool = False,
    guids_only: bool = False,
) -> Select[Any]:
    """claims.finish_statement with its history entries and links. Parameters: those of
    finish_statement, p_actor and p_reason. With `guids_only` it answers the GUIDs of the
    tasks finished and nothing more (a batch's answer names no more): no link looked up, no
    whole row sent back and read."""
    statement: Update = finish_statement(
        set_output=set_output,
        set_error=set_error,
        finished=finished,
        unless_retried=unless_retried,
        ids_only=guids_only,  # the history's id and account, the answer's GUID
    )
    finished_rows = statement.cte("finished")
    to_status = bindparam("p_status", type_=Integer)
    if guids_only:
        history = _history(finished_rows, IN_PROGRESS, to_status)
        return select(finished_rows.c.guid).add_cte(history)
    return _with_history_and_links(finished_rows, IN_PROGRESS, to_status)


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


@lru_cache(maxsize=TAKES_KEPT)
def take_for_job(
    ref_kind: str, count: int, *, robot_scoped: bool, shape: FilterShape | None = None
) -> Select[Any]:
    """take_from_queue for the job the request names: `p_job_ref`, an id (`ref_kind` "id") or
    a GUID, looked up as access.lookup.find looks up a job: in the account `p_account_id`, not
    deleted and, for a robot's credentials (`robot_scoped`), one of the robot `p_scope_robot_id`'s
    own jobs (access.robot_scope). Parameters: take_from_queue's but p_job_id and p_robot_job
    (with `shape`, its filters' too).

    Its first column is the job's id, or NULL when no such job is visible: then nothing is
    taken (the caller answers the session path's 404). One row per task taken follows it, or
    one row of NULLs when the queue had none (LEFT JOIN), so "no job" and "no task" differ."""
    column = JOBS.c.id if ref_kind == "id" else JOBS.c.guid
    scope = [JOBS.c.robot_id == bindparam("p_scope_robot_id")] if robot_scoped else []
    named = (
        select(JOBS.c.id)
        .where(
            column == bindparam("p_job_ref"),
            JOBS.c.account_id == bindparam("p_account_id"),
            JOBS.c.is_deleted.is_(False),
            *scope,
        )
        .order_by(JOBS.c.id)
        .limit(1)
        .cte("named_job")
    )
    job_id = select(named.c.id).scalar_subquery()
    queue = TASKS.c.queue_id == bindparam("p_queue_id")
    taken = _taken([queue, job_id.is_not(None), *shape_conditions(shape)], job_id, count)
    history = _history(taken, NEW, literal(IN_PROGRESS, Integer))
    one_row = select(literal(1, Integer).label("one")).subquery("one_row")
    return (
        select(job_id.label("job_found"), *_record_and_links(taken))
        .select_from(one_row.outerjoin(taken, true()))
        .add_cte(history)
    )


@cache
def renew_cte() -> Select[Any]:
    """The live lease `p_lease_id` of the tasks `p_guids` (a list: one request's items that
    share a lease and a length; of the account `p_account_id`, not deleted) extended from
    `p_now` by `p_lease_seconds` (NULL: the lease's own seconds; 300 without), as
    leases._renew does; RETURNING each task renewed and its links (none whose lease is not
    live)."""
    now = bindparam("p_now", type_=TASKS.c.lease_expires_at.type)
    seconds = func.coalesce(bindparam("p_lease_seconds", type_=Integer), TASKS.c.lease_seconds)
    renewed = (
        update(TASKS)
        .where(
            TASKS.c.guid.in_(bindparam("p_guids", expanding=True)),
            TASKS.c.account_id == bindparam("p_account_id"),
            TASKS.c.is_deleted.is_(False),
            TASKS.c.status == IN_PROGRESS,
            TASKS.c.lease_id == bindparam("p_lease_id"),
            TASKS.c.lease_expires_at > now,
        )
        .values(
            lease_seconds=seconds,
            lease_expires_at=now
            + func.coalesce(func.nullif(seconds, 0), 300, type_=Integer)
            * literal_column("interval '1 second'", Interval),
        )
        .returning(*RETURNED)
        .cte("renewed")
    )
    return select(*_record_and_links(renewed)).select_from(renewed)


# Takes and finishes that arrive together (services.tasks.on_driver, runtime.coalescer)

MEMBERS_MOST = 64
"""The most takes (or finishes) one statement carries; more waiting make the next one."""

# (array parameter, column of the members' unnest, its SQL type, take_cte's parameter)
_MEMBER_ARRAYS: tuple[tuple[str, str, Any, str], ...] = (
    ("p_lease_ids", "lease_id", TASKS.c.lease_id.type, "p_lease_id"),
    ("p_lease_owners", "lease_owner", String, "p_lease_owner"),
    ("p_lease_robot_ids", "lease_robot_id", BigInteger, "p_lease_robot_id"),
    ("p_lease_seconds", "lease_seconds", Integer, "p_lease_seconds"),
    ("p_lease_expires", "lease_expires_at", DateTime(timezone=True), "p_lease_expires_at"),
    ("p_actors", "actor", String, "p_actor"),
    ("p_robot_jobs", "robot_job", Integer, "p_robot_job"),
)
MEMBER_PARAMETERS = tuple((array, single) for array, _, _, single in _MEMBER_ARRAYS)
"""(group_take's array parameter, the take_cte parameter each member gives it)."""


@lru_cache(maxsize=MEMBERS_MOST)
def group_take(members: int) -> Select[Any]:
    """The take of `members` tasks of the queue `p_queue_id`, one for each member."""
    picked = (
        func.unnest(
            _array_of(pick_new([TASKS.c.queue_id == bindparam("p_queue_id")], POSTGRESQL, members))
        )
        .table_valued(column("id", BigInteger), with_ordinality="n")
        .render_derived("picked")
    )
    member = (
        func.unnest(*(bindparam(name, type_=ARRAY(kind)) for name, _, kind, _ in _MEMBER_ARRAYS))
        .table_valued(
            *(column(key, kind) for _, key, kind, _ in _MEMBER_ARRAYS), with_ordinality="n"
        )
        .render_derived("member")
    )
    assigned = (
        select(picked.c.id, *(member.c[key] for _, key, _, _ in _MEMBER_ARRAYS), member.c.n)
        .join_from(picked, member, picked.c.n == member.c.n)
        .subquery("assigned")
    )
    robot_job = _robot_job(assigned.c.robot_job, assigned.c.lease_robot_id)
    taken = (
        update(TASKS)
        .where(TASKS.c.id == assigned.c.id)
        .values(
            _take_values(
                func.coalesce(robot_job, TASKS.c.job_id),
                {column: assigned.c[column] for column in LEASE_COLUMNS},
            )
        )
        .returning(*RETURNED, assigned.c.n.label("member"), assigned.c.actor)
        .cte("taken")
    )
    history = _history(taken, NEW, literal(IN_PROGRESS, Integer), actor=taken.c.actor)
    return select(*_record_and_links(taken), taken.c.member).select_from(taken).add_cte(history)


@cache
def group_finish(*, finished: bool, unless_retried: bool) -> Select[Any]:
    """finish_cte without output or error for several callers' tasks, each named by its
    member under its own lease, with its own actor: arrays p_guids, p_lease_ids, p_actors
    (one entry per member, unnested WITH ORDINALITY), and finish_statement's other
    parameters but p_lease_id. Rows: the task finished and its links, then the member's
    number (from 1); a member whose task was not finished (no such task, not its lease, a
    failure its queue retries) has no row."""
    member = (
        func.unnest(
            bindparam("p_guids", type_=ARRAY(TASKS.c.guid.type)),
            bindparam("p_lease_ids", type_=ARRAY(TASKS.c.lease_id.type)),
            bindparam("p_actors", type_=ARRAY(String)),
        )
        .table_valued(
            column("guid", TASKS.c.guid.type),
            column("lease_id", TASKS.c.lease_id.type),
            column("actor", String),
            with_ordinality="n",
        )
        .render_derived("member")
    )
    statement: Update = finish_statement(
        set_output=False,
        set_error=False,
        finished=finished,
        unless_retried=unless_retried,
        members=member,
    )
    finished_rows = statement.returning(member.c.n.label("member"), member.c.actor).cte("finished")
    to_status = bindparam("p_status", type_=Integer)
    history = _history(finished_rows, IN_PROGRESS, to_status, actor=finished_rows.c.actor)
    return (
        select(*_record_and_links(finished_rows), finished_rows.c.member)
        .select_from(finished_rows)
        .add_cte(history)
    )
