"""A robot reading one resource (GET /api/asset/read/{ref}) without the ORM.

The session path (crud.read_resource) finds the row in the robot's scope (access.lookup's
`scoped` and robot_scope.resources_in_scope), then looks up the GUIDs of its robot, robot
group and resource group one by one and opens its password. Here that is one statement on
the bare driver, the same conditions and order, the GUIDs as subqueries, and the password
opened with the data key already in memory.

Anything else returns None and the session path answers: a caller that is not a robot or is
confined to folders, no such resource (the session path says 404 its own way). crud turns
the values into the answer as it does for a row.
"""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, false, select
from sqlalchemy.engine import Dialect

from robofleet.server.db.driver import driver_read
from robofleet.server.db.prepared import PreparedStatement
from robofleet.server.db.tables import ResourceGroupRow, ResourceRow, RobotGroupRow, RobotRow
from robofleet.server.domain.refs import parse_ref
from robofleet.server.runtime import Runtime
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.robot_scope import resources_in_scope


class ResourceValues(NamedTuple):
    """The columns a read shows, named as ResourceRow's attributes."""

    id: int
    guid: str
    account_id: int
    name: str
    description: str
    type: int
    text: str
    password_ciphertext: str | None
    password_expiration: Any
    robot_type: int
    robot_id: int | None
    robot_group_id: int | None
    resource_group_id: int | None
    folder_id: int | None
    is_deleted: bool
    created_at: Any
    updated_at: Any
    robot_guid: str | None
    robot_group_guid: str | None
    resource_group_guid: str | None


def _guid_of(model: Any, row_id: Any) -> Any:
    # As crud._guid_of (session.get): by id alone, deleted or not.
    return select(model.guid).where(model.id == row_id).scalar_subquery()


def _query(kind: str) -> Select[Any]:
    """A robot's lookup by id, GUID or name, as access.lookup.find / scope.find_resource."""
    r = ResourceRow
    column = {"id": r.id, "guid": r.guid, "name": r.name}[kind]
    query = select(
        *(getattr(r, name) for name in ResourceValues._fields[:-3]),
        _guid_of(RobotRow, r.robot_id),
        _guid_of(RobotGroupRow, r.robot_group_id),
        _guid_of(ResourceGroupRow, r.resource_group_id),
    ).where(
        r.account_id == bindparam("p_account"),
        # Spelled as uq_resources_name_scope_live's WHERE, so SQLite reads a name by it (as
        # `IS 0` it walked every resource of the account).
        r.is_deleted == false(),
        resources_in_scope(bindparam("p_robot")),
        column == bindparam("p_value"),
    )
    # A name may be used at several scopes: the robot gets the most specific.
    order = (r.robot_type, r.id) if kind == "name" else (r.id,)
    return query.order_by(*order).limit(1)


@cache
def _statement(dialect: Dialect, kind: str) -> PreparedStatement:
    return PreparedStatement(_query(kind), dialect)


def _lookup(
    runtime: Runtime, caller: Caller, ref: int | str
) -> tuple[PreparedStatement, dict[str, Any]] | None:
    """The statement and its values for a robot's common-case read; None: the session path."""
    principal = caller.principal
    if principal.robot_id is None or principal.folder_ids is not None:
        return None
    parsed = parse_ref(ref, field="Guid")
    statement = _statement(runtime.db.engine.dialect, parsed.kind)
    values = {"p_account": principal.account_id, "p_robot": principal.robot_id}
    return statement, {**values, "p_value": parsed.value}


def lean_read(
    runtime: Runtime, caller: Caller, ref: int | str, *, kept: bool = False
) -> ResourceValues | None:
    """The resource's values for a robot in the common case, or None for the session path.
    `kept`: on the connection this thread keeps (SQLite's event loop, db.driver)."""
    lookup = _lookup(runtime, caller, ref)
    if lookup is None:
        return None
    with driver_read(runtime.db, kept=kept) as connection:
        rows = lookup[0].run(connection, lookup[1])
    return ResourceValues(*rows[0]) if rows else None


async def read_on_driver(runtime: Runtime, caller: Caller, ref: int | str) -> ResourceValues | None:
    """lean_read on PostgreSQL's async driver pool, on the event loop; None where there is
    no pool (SQLite), the case is not the common one, or nothing is found."""
    pool = runtime.driver_pool
    lookup = _lookup(runtime, caller, ref) if pool is not None else None
    if pool is None or lookup is None:
        return None
    rows = await pool.run(*lookup)
    return ResourceValues(*rows[0]) if rows else None
