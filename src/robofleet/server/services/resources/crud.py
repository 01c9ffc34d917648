"""Resources: create, read (with the password for those allowed it), update, delete, list."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from robofleet.calendars import Calendar, CalendarError
from robofleet.server.db.audit import record_event
from robofleet.server.db.tables import ResourceGroupRow, ResourceRow, RobotGroupRow, RobotRow
from robofleet.server.domain.errors import Conflict, Forbidden, InvalidInput
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.domain.refs import new_guid
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.base import GuidResponse, Page
from robofleet.server.schemas.resources import (
    TEXT_LIMIT,
    ResourceCreate,
    ResourceFilter,
    ResourceRead,
    ResourceUpdate,
)
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.folders import folder_id_for
from robofleet.server.services.access.lookup import find, scoped
from robofleet.server.services.resources.groups import find_group
from robofleet.server.services.resources.lean_read import ResourceValues, lean_read, read_on_driver
from robofleet.server.services.resources.scope import (
    Scope,
    find_resource,
    resolve_scope,
    scope_of,
)

CREDENTIALS, TEXT, CALENDAR = 1, 2, 3
TYPE_NAMES = {CREDENTIALS: "Credentials", TEXT: "Text", CALENDAR: "Calendar"}
MASK = "********"


class ResourceGuids(NamedTuple):
    robot: str | None
    robot_group: str | None
    resource_group: str | None


def associated_data(row: ResourceRow | ResourceValues) -> str:
    """Binds a ciphertext to its row: copied into another row it does not decrypt."""
    return f"resource:{row.account_id}:{row.guid}"


def may_see_password(caller: Caller) -> bool:
    """A robot sees the passwords of the resources it reaches (its scope); a user or key
    needs the Resource update right (docs/decisions.md)."""
    return caller.robot_id is not None or caller.principal.permissions.allows(
        Screen.RESOURCE, Action.UPDATE
    )


def _checked_text(kind: int, text: str) -> str:
    if kind == CALENDAR:
        try:
            return Calendar.from_json(text).to_json()
        except CalendarError as exc:
            raise InvalidInput.for_field("Text", f"is not a calendar: {exc}") from None
    if len(text) > TEXT_LIMIT:
        raise InvalidInput.for_field("Text", f"holds at most {TEXT_LIMIT} characters")
    return text


def _ensure_name_free(session: Session, caller: Caller, name: str, scope: Scope, own: int) -> None:
    taken = session.scalar(
        select(ResourceRow.id)
        .where(
            ResourceRow.account_id == caller.account_id,
            ResourceRow.name == name,
            ResourceRow.scope_key == scope.key,
            ResourceRow.is_deleted.is_(False),
            ResourceRow.id != own,
        )
        .limit(1)
    )
    if taken is not None:
        raise Conflict(
            f"a resource named '{name}' already exists at this scope; choose another name or scope",
            code="name_taken",
        )


def _set_scope(row: ResourceRow, scope: Scope) -> None:
    row.robot_type = scope.robot_type
    row.robot_id = scope.robot_id
    row.robot_group_id = scope.robot_group_id
    row.scope_key = scope.key


def _set_password(runtime: Runtime, session: Session, row: ResourceRow, password: str) -> None:
    if row.type != CREDENTIALS:
        raise InvalidInput.for_field("Password", "only credentials (Type 1) have a password")
    sealed = runtime.secret_box.seal(session, password, associated_data(row))
    row.password_ciphertext = sealed.token
    row.password_key_id = sealed.key_id


def create_resource(runtime: Runtime, caller: Caller, data: ResourceCreate) -> GuidResponse:
    caller.require(Screen.RESOURCE, Action.CREATE)
    with runtime.db.write(actor=caller.actor()) as session:
        scope = resolve_scope(session, caller, data.robot_type, data.robot, data.robot_group)
        _ensure_name_free(session, caller, data.name, scope, own=0)
        if data.password_expiration is not None and data.type != CREDENTIALS:
            raise InvalidInput.for_field("PasswordExpiration", "is for credentials (Type 1)")
        row = ResourceRow(
            guid=new_guid(),
            account_id=caller.account_id,
            name=data.name,
            description=data.description,
            type=data.type,
            text=_checked_text(data.type, data.text),
            password_expiration=data.password_expiration,
            resource_group_id=_group_id(session, caller, data.resource_group),
            folder_id=folder_id_for(session, caller, data.folder),
        )
        _set_scope(row, scope)
        if data.password:
            _set_password(runtime, session, row, data.password)
        session.add(row)
        session.flush()
        return GuidResponse(guid=row.guid)


def _group_id(session: Session, caller: Caller, ref: int | str | None) -> int | None:
    return None if ref is None else find_group(session, caller, ref).id


def read_resource(runtime: Runtime, caller: Caller, ref: int | str) -> ResourceRead:
    caller.require(Screen.RESOURCE, Action.READ)
    # A robot's read in the common case: one statement, no session (lean_read).
    lean = _lean_answer(runtime, lean_read(runtime, caller, ref))
    return lean if lean is not None else session_read_resource(runtime, caller, ref)


async def read_resource_on_driver(
    runtime: Runtime, caller: Caller, ref: int | str
) -> ResourceRead | None:
    """read_resource's common case on PostgreSQL's async driver pool (no thread hop); None:
    read_resource answers (SQLite, another caller, not found, the data key not in memory)."""
    if runtime.driver_pool is None:
        return None  # the right is checked where the read is made
    caller.require(Screen.RESOURCE, Action.READ)
    return _lean_answer(runtime, await read_on_driver(runtime, caller, ref))


def read_resource_on_loop(runtime: Runtime, caller: Caller, ref: int | str) -> ResourceRead | None:
    """read_resource's common case on SQLite, on the event loop itself: one indexed read on
    the loop's own connection costs less than the hop to a thread and back. None:
    session_read_resource answers (PostgreSQL: read_resource_on_driver instead)."""
    if not runtime.db.raw_writes:
        return None
    caller.require(Screen.RESOURCE, Action.READ)
    return _lean_answer(runtime, lean_read(runtime, caller, ref, kept=True))


def _lean_answer(runtime: Runtime, found: ResourceValues | None) -> ResourceRead | None:
    """The answer to a lean read's values; None: the session path answers (nothing found,
    or the password's data key not in memory)."""
    if found is None:
        return None
    known, password = _password_in_memory(runtime, found)
    return read_model(found, password) if known else None


def session_read_resource(runtime: Runtime, caller: Caller, ref: int | str) -> ResourceRead:
    """Every read, on an ORM row (the caller's right checked by read_resource)."""
    with runtime.db.read() as session:
        row = find_resource(session, caller, ref)
        return view(runtime, session, row, reveal=may_see_password(caller))


def reveal_password(runtime: Runtime, caller: Caller, ref: int | str) -> str | None:
    """A credential's password in clear, asked for on purpose (the web's "Show password"):
    the right is read_resource's (may_see_password), and every reveal is recorded in the
    audit trail (action `reveal`). None: the resource has no password."""
    caller.require(Screen.RESOURCE, Action.READ)
    if not may_see_password(caller):
        raise Forbidden(
            f"{caller.principal.name} may not see passwords: it takes the 'update' right on "
            "resource; ask an administrator to grant it in a role",
            reason="missing_right",
        )
    with runtime.db.write(actor=caller.actor()) as session:
        row = find_resource(session, caller, ref)
        if row.password_ciphertext is None:
            return None
        password = runtime.secret_box.open(session, row.password_ciphertext, associated_data(row))
        record_event(
            session,
            caller.actor(),
            action="reveal",
            object_type="resource",
            object_guid=row.guid,
            message=f"password of resource '{row.name}' shown",
            account_id=row.account_id,
        )
        return password


def update_resource(runtime: Runtime, caller: Caller, data: ResourceUpdate) -> None:
    """Sherpa's framework sends `guid, name, text, password` (form): `guid` names the
    resource; without it `name` does. An empty password keeps the stored one."""
    caller.require(Screen.RESOURCE, Action.UPDATE)
    ref = data.guid if data.guid is not None else data.name
    if ref is None:
        raise InvalidInput.for_field("Guid", "is required: the resource's id, GUID or name")
    with runtime.db.write(actor=caller.actor()) as session:
        row = find_resource(session, caller, ref, for_update=True)
        if data.type is not None and data.type != row.type:
            raise InvalidInput.for_field(
                "Type", f"cannot change ({TYPE_NAMES[row.type]}); create a new resource"
            )
        scope = scope_of(row)
        if {"robot_type", "robot", "robot_group"} & data.model_fields_set:
            scope = resolve_scope(session, caller, data.robot_type, data.robot, data.robot_group)
        name = data.name if data.name is not None else row.name
        if name != row.name or scope != scope_of(row):
            _ensure_name_free(session, caller, name, scope, own=row.id)
        row.name = name
        _set_scope(row, scope)
        _apply_fields(runtime, session, caller, row, data)


def _apply_fields(
    runtime: Runtime, session: Session, caller: Caller, row: ResourceRow, data: ResourceUpdate
) -> None:
    if data.description is not None:
        row.description = data.description
    if data.text is not None:
        row.text = _checked_text(row.type, data.text)
    if data.password:
        _set_password(runtime, session, row, data.password)
    if data.password_expiration is not None:
        if row.type != CREDENTIALS:
            raise InvalidInput.for_field("PasswordExpiration", "is for credentials (Type 1)")
        row.password_expiration = data.password_expiration
    if "resource_group" in data.model_fields_set:
        row.resource_group_id = _group_id(session, caller, data.resource_group)
    if "folder" in data.model_fields_set:
        row.folder_id = folder_id_for(session, caller, data.folder)


def delete_resource(runtime: Runtime, caller: Caller, ref: int | str) -> None:
    caller.require(Screen.RESOURCE, Action.DELETE)
    with runtime.db.write(actor=caller.actor()) as session:
        find_resource(session, caller, ref, for_update=True).is_deleted = True


def list_resources(runtime: Runtime, caller: Caller, query: ResourceFilter) -> Page[ResourceRead]:
    """Passwords are masked in lists, whoever asks: read one to see it."""
    caller.require(Screen.RESOURCE, Action.READ)
    with runtime.db.read() as session:
        rows = scoped(ResourceRow, caller)
        if query.type is not None:
            rows = rows.where(ResourceRow.type == query.type)
        if query.name is not None:
            rows = rows.where(ResourceRow.name == query.name)
        if query.robot_type is not None:
            rows = rows.where(ResourceRow.robot_type == query.robot_type)
        if query.resource_group is not None:
            group = find_group(session, caller, query.resource_group)
            rows = rows.where(ResourceRow.resource_group_id == group.id)
        if query.robot is not None:
            robot = find(session, RobotRow, caller, query.robot, entity="robot", field="RobotId")
            rows = rows.where(ResourceRow.robot_id == robot.id)
        if query.robot_group is not None:
            robot_group = find(
                session,
                RobotGroupRow,
                caller,
                query.robot_group,
                entity="robot group",
                field="RobotGroupId",
            )
            rows = rows.where(ResourceRow.robot_group_id == robot_group.id)
        total = session.scalar(select(func.count()).select_from(rows.subquery())) or 0
        page = session.scalars(
            rows.order_by(ResourceRow.name, ResourceRow.robot_type, ResourceRow.id)
            .offset(query.offset)
            .limit(query.count)
        ).all()
        items = [view(runtime, session, row, reveal=False) for row in page]
        return Page(items=items, total=total, offset=query.offset, count=len(items))


def _guid_of(session: Session, model: Any, row_id: int | None) -> str | None:
    if row_id is None:
        return None
    row = session.get(model, row_id)
    return None if row is None else str(row.guid)


def _password_in_memory(runtime: Runtime, found: ResourceValues) -> tuple[bool, str | None]:
    """(known, password): a robot sees the password of a resource in its scope
    (may_see_password); not known while its data key is not in memory (the session path
    loads it)."""
    if found.password_ciphertext is None:
        return True, None
    password = runtime.secret_box.open_with_known_key(
        found.password_ciphertext, associated_data(found)
    )
    return password is not None, password


def view(runtime: Runtime, session: Session, row: ResourceRow, *, reveal: bool) -> ResourceRead:
    password: str | None = None
    if row.password_ciphertext is not None:
        password = (
            runtime.secret_box.open(session, row.password_ciphertext, associated_data(row))
            if reveal
            else MASK
        )
    guids = ResourceGuids(
        _guid_of(session, RobotRow, row.robot_id),
        _guid_of(session, RobotGroupRow, row.robot_group_id),
        _guid_of(session, ResourceGroupRow, row.resource_group_id),
    )
    return read_model(row, password, guids)


def read_model(
    row: ResourceRow | ResourceValues, password: str | None, guids: ResourceGuids | None = None
) -> ResourceRead:
    """The answer for a row (or the lean path's values, which carry their GUIDs)."""
    if guids is None:
        assert isinstance(row, ResourceValues)
        guids = ResourceGuids(row.robot_guid, row.robot_group_guid, row.resource_group_guid)
    return ResourceRead(
        id=row.id,
        guid=row.guid,
        account_id=row.account_id,
        name=row.name,
        description=row.description,
        type=row.type,
        type_name=TYPE_NAMES.get(row.type, str(row.type)),
        text=row.text,
        password=password,
        password_expiration=row.password_expiration,
        robot_type=row.robot_type,
        robot_id=row.robot_id,
        robot_guid=guids.robot,
        robot_group_id=row.robot_group_id,
        robot_group_guid=guids.robot_group,
        resource_group_id=row.resource_group_id,
        resource_group_guid=guids.resource_group,
        folder_id=row.folder_id,
        is_deleted=row.is_deleted,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
