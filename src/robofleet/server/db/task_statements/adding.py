"""The statements of the lean task add (services.tasks.lean_add), each built once.

On PostgreSQL a whole add, one task or 10,000, is ONE statement: the tasks' values go as one
array per column (`a_<column>`), unnested side by side into the INSERT, so the SQL text and
its prepared plan are the same for every batch size and no batch nears PostgreSQL's limit of
bound parameters; the history entries are inserted from its RETURNING in the same statement.
The values every task of an add shares (account, queue, times) are plain parameters
(`p_<column>`). On SQLite a task is one INSERT (executemany for a batch) and its history
entry one INSERT … SELECT by its GUID, so neither needs the new ids back in Python.

The values are those services.tasks.state.new_task makes for the session path's
insert_tasks, and the history entry is its add_tasks' entry (from no status to the first)."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import (
    Insert,
    Integer,
    Select,
    String,
    Text,
    any_,
    bindparam,
    cast,
    exists,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from robofleet.server.db.tables.queues import TASK_TABLE as TASKS
from robofleet.server.db.task_statements.records import EVENTS, RETURNED, NewTask

PER_TASK = (
    "guid",
    "name",
    "unique_name",
    "description",
    "comment",
    "parameters",
    "priority",
    "rank",
    "tags",
    "status",
    "postponed_until",
    "deadline",
    "deadline_key",
    "retries",
    "idempotency_key",
    "request_digest",
)
"""The columns whose values differ between the tasks of one add (a bulk add's item i is
keyed `<key>#<i>`, each with its own digest)."""
SHARED = tuple(name for name in NewTask.__annotations__ if name not in PER_TASK)
"""The columns every task of one add has the same value in (account, queue, times...)."""
assert set(PER_TASK) <= set(NewTask.__annotations__)
_JSON = ("parameters",)
"""Sent as JSON text (a text[] array), cast back to the column's type in the statement."""
_FOR_HISTORY = (TASKS.c.id, TASKS.c.account_id, TASKS.c.status, TASKS.c.guid)
"""What the history entries and a bulk add's answer need of the tasks added."""
_EVENT_COLUMNS = ["account_id", "task_id", "from_status", "to_status", "actor", "reason", "at"]


def _defaults() -> dict[str, Any]:
    """The columns a new task leaves to their scalar defaults (error_type...), as literals:
    a statement's own default parameters are filled at execution by SQLAlchemy, which a
    PreparedStatement bypasses."""
    return {
        column.name: literal(column.default.arg, column.type)
        for column in TASKS.c
        if column.name not in NewTask.__annotations__
        and isinstance(column.default, ScalarElementColumnDefault)
    }


def _unnested(name: str, *, single: bool) -> Any:
    """The per-task column `name` as the rows of its array parameter `a_<name>`; with
    `single`, the one task's value `a_<name>` (cast: a NULL in a SELECT list is text)."""
    column = TASKS.c[name]
    if single:
        return cast(
            bindparam(f"a_{name}", type_=Text if name in _JSON else column.type), column.type
        )
    if name in _JSON:
        texts = func.unnest(bindparam(f"a_{name}", type_=ARRAY(Text)), type_=Text)
        return cast(texts, column.type)
    return func.unnest(bindparam(f"a_{name}", type_=ARRAY(column.type)), type_=column.type)


def _names_taken(names: Any) -> Any:
    """Whether a task of the queue `p_queue_id` (any status, deleted too) carries one of
    `names`, as lookup.taken_names asks; by the account's (account_id, name) index."""
    return exists().where(
        TASKS.c.account_id == bindparam("p_account_id"),
        TASKS.c.name == names,
        TASKS.c.queue_id == bindparam("p_queue_id"),
    )


def _keys_taken(keys: Any) -> Any:
    """Whether a task of the account `p_account_id` (any queue, deleted too) carries one of
    the idempotency `keys`, as idempotency.earlier_adds asks; by the account's unique
    (account_id, idempotency_key) index."""
    return exists().where(
        TASKS.c.account_id == bindparam("p_account_id"),
        TASKS.c.idempotency_key == keys,
    )


def _guids_taken(guids: Any) -> Any:
    """Whether a task (of any account: GUIDs are unique across them, deleted too) has one of
    `guids`, as idempotency.earlier_adds asks; by the unique GUID index."""
    return exists().where(TASKS.c.guid == guids)


def _one_of(name: str, *, single: bool) -> Any:
    """What a guard compares the column `name` with: the one task's value, or any of the
    array's."""
    kind = TASKS.c[name].type
    if single:
        return bindparam(f"a_{name}", type_=kind)
    return any_(bindparam(f"a_{name}", type_=ARRAY(kind)))


@cache
def add_on_postgresql(
    *, full: bool, notify: bool, unique: bool, keyed: bool, guided: bool, single: bool = False
) -> Select[Any]:
    """Insert the tasks given as arrays (`a_<column>` for PER_TASK, `p_<column>` for SHARED),
    with their first history entries (actor `p_actor`, reason `p_reason`, at `p_now`).
    Returns each task's columns (TaskRecord) with `full`, else its GUID only. With `notify`,
    one more column sends NOTIFY `p_channel` `p_payload`, delivered when the statement
    commits (runtime.arrivals: a NOTIFY in the adding transaction, as the session path's).
    With `unique` (a queue demanding unique names) nothing is added, and nothing returned,
    when a task of the queue already carries one of the names. With `keyed` (an add naming
    itself with an Idempotency-Key) likewise when a task of the account already carries one
    of its keys (a retry, or a key reused): the session path answers that add. With `guided`
    (tasks given the client's own GUIDs) likewise when a task already has one of the GUIDs.
    A concurrent add of the same key or GUID still gets past the guard; the unique index
    then fails the whole statement, and nothing is added either. With `single` (an add of
    one task, the common case) each `a_<column>` is that task's value, not an array:
    PostgreSQL's driver spends far more on sixteen one-element arrays than on the rest of the
    statement's values."""
    defaults = _defaults()
    columns = [*PER_TASK, *SHARED, *defaults]
    values = select(
        *(_unnested(name, single=single) for name in PER_TASK),
        *(bindparam(f"p_{name}", type_=TASKS.c[name].type) for name in SHARED),
        *defaults.values(),
    )
    if unique:
        values = values.where(~_names_taken(_one_of("name", single=single)))
    if keyed:
        values = values.where(~_keys_taken(_one_of("idempotency_key", single=single)))
    if guided:
        values = values.where(~_guids_taken(_one_of("guid", single=single)))
    added = (
        insert(TASKS)
        .from_select(columns, values)
        .returning(*(RETURNED if full else _FOR_HISTORY))
        .cte("added")
    )
    history = (
        insert(EVENTS)
        .from_select(
            _EVENT_COLUMNS,
            select(
                added.c.account_id,
                added.c.id,
                literal(None, Integer),
                added.c.status,
                bindparam("p_actor", type_=String),
                bindparam("p_reason", type_=String),
                bindparam("p_now", type_=EVENTS.c.at.type),
            ),
        )
        .cte("history")
    )
    wanted: list[Any] = [added.c[column.name] for column in RETURNED] if full else [added.c.guid]
    if notify:
        # An uncorrelated scalar subquery: run once (an InitPlan), whatever the rows.
        channel, payload = bindparam("p_channel", type_=Text), bindparam("p_payload", type_=Text)
        wanted.append(select(func.pg_notify(channel, payload)).scalar_subquery())
    return select(*wanted).select_from(added).add_cte(history)


@cache
def insert_task(*, returning: bool) -> Insert:
    """One task (`t_<column>` for each of NewTask), RETURNING its columns (TaskRecord) when
    `returning`."""
    statement = insert(TASKS).values(
        **{name: bindparam(f"t_{name}") for name in NewTask.__annotations__}, **_defaults()
    )
    return statement.returning(*RETURNED) if returning else statement


def task_values(task: NewTask) -> dict[str, Any]:
    """The parameters of insert_task for `task`."""
    return {f"t_{name}": value for name, value in task.items()}


@cache
def taken_name() -> Select[Any]:
    """A task of the queue `p_queue_id` of the account `p_account_id` named `p_name` (any
    status, deleted too): lookup.taken_names for one name."""
    return select(literal(1, Integer)).where(_names_taken(bindparam("p_name")))


@cache
def taken_key() -> Select[Any]:
    """A task of the account `p_account_id` keyed `p_key` (any queue or status, deleted
    too): idempotency.earlier_adds for one key."""
    return select(literal(1, Integer)).where(_keys_taken(bindparam("p_key")))


@cache
def taken_guid() -> Select[Any]:
    """A task (of any account, deleted too) with the GUID `p_guid`: idempotency.earlier_adds
    for one client GUID."""
    return select(literal(1, Integer)).where(_guids_taken(bindparam("p_guid")))


@cache
def first_event() -> Insert:
    """The first history entry of the task `p_guid` (from no status to its status), by
    `p_actor` for `p_reason` at `p_now`."""
    return insert(EVENTS).from_select(
        _EVENT_COLUMNS,
        select(
            TASKS.c.account_id,
            TASKS.c.id,
            literal(None, Integer),
            TASKS.c.status,
            bindparam("p_actor", type_=String),
            bindparam("p_reason", type_=String),
            bindparam("p_now", type_=EVENTS.c.at.type),
        ).where(TASKS.c.guid == bindparam("p_guid")),
    )
