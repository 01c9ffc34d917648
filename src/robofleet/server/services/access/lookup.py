"""Finding a tenant's object by id, GUID or name — always inside the caller's account."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from robofleet.server.db.base import TenantEntity
from robofleet.server.domain.errors import Conflict, InvalidInput, NotFound
from robofleet.server.domain.refs import parse_ref
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.robot_scope import own_rows

RowT = TypeVar("RowT", bound=TenantEntity)


def scoped(model: type[RowT], caller: Caller) -> Select[RowT]:
    """SELECT rows of one account, not soft-deleted, inside the caller's access folders;
    for a robot, only its own rows where robots are confined (access.robot_scope)."""
    query = select(model).where(model.account_id == caller.account_id)
    deleted = getattr(model, "is_deleted", None)
    if deleted is not None:
        query = query.where(deleted.is_(False))
    folder_column = getattr(model, "folder_id", None)
    folders = caller.principal.folder_ids
    if folder_column is not None and folders is not None:
        query = query.where(or_(folder_column.is_(None), folder_column.in_(folders)))
    if caller.robot_id is not None:
        own = own_rows(model, caller.robot_id)
        if own is not None:
            query = query.where(own)
    return query


def find(
    session: Session,
    model: type[RowT],
    caller: Caller,
    ref: int | str,
    *,
    entity: str,
    name_attr: str = "name",
    for_update: bool = False,
    field: str | None = None,
) -> RowT:
    """The object `ref` names, or NotFound. `field` names the request field in errors;
    a reference that cannot name anything (empty, a name for an object without one) is
    InvalidInput."""
    parsed = parse_ref(ref, field=field or entity)
    query = scoped(model, caller)
    column: InstrumentedAttribute[Any]
    if parsed.kind == "id":
        column = model.id
    elif parsed.kind == "guid":
        column = model.guid
    elif hasattr(model, name_attr):
        column = getattr(model, name_attr)
    else:
        raise InvalidInput.for_field(
            field or entity, f"a {entity} is named by its id or GUID, not '{parsed.value}'"
        )
    query = query.where(column == parsed.value).order_by(model.id).limit(1)
    if for_update:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise NotFound(entity, ref)
    return row


def find_many(
    session: Session,
    model: type[RowT],
    caller: Caller,
    refs: list[int | str],
    *,
    entity: str,
    field: str,
) -> list[RowT]:
    rows: list[RowT] = []
    for ref in refs:
        row = find(session, model, caller, ref, entity=entity, field=field)
        if row not in rows:
            rows.append(row)
    return rows


def ensure_name_free(
    session: Session, model: type[RowT], caller: Caller, name: str, *, entity: str
) -> None:
    """Names are unique among an account's live objects of a kind (folders aside)."""
    name_column: InstrumentedAttribute[str] = model.name  # type: ignore[attr-defined]
    taken = select(model.id).where(model.account_id == caller.account_id, name_column == name)
    deleted = getattr(model, "is_deleted", None)
    if deleted is not None:
        taken = taken.where(deleted.is_(False))
    if session.scalar(taken.limit(1)) is not None:
        article = "an" if entity[0] in "aeiou" else "a"
        raise Conflict(
            f"{article} {entity} named '{name}' already exists; choose another", code="name_taken"
        )
