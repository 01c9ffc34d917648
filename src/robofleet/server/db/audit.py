"""Records every change to an audited row, in the same transaction as the change.

Rows opt in with `__audit_entity__`; columns opt out with `info={"audit": False}` and are
masked with `info={"secret": True}`. Hot robot-protocol paths write with Core statements and
keep their own histories (job and task status histories), so they do not flood this log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, inspect
from sqlalchemy.orm import Session, UOWTransaction

from robofleet.server.db.base import Entity, utcnow
from robofleet.server.db.tables.audit import AuditRow
from robofleet.server.domain.refs import new_guid

if TYPE_CHECKING:
    from robofleet.server.db.session import Database

MASK = "***"


@dataclass(frozen=True)
class AuditActor:
    """Who is changing things, and from where."""

    kind: str
    guid: str | None
    name: str
    account_id: int | None
    address: str = ""
    user_agent: str = ""


@dataclass(frozen=True)
class NotAudited:
    """A write deliberately kept out of the audit log, and why (see db.system_actors)."""

    why: str


def plain(value: Any) -> Any:
    """A column value as the audit entry's JSON holds it."""
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    return str(value)


def _column_changes(obj: Entity, *, created: bool) -> dict[str, Any]:
    state = inspect(obj)
    changes: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        column = attr.columns[0]
        if column.info.get("audit", True) is False or attr.key in {"updated_at", "created_at"}:
            continue
        history = state.attrs[attr.key].history
        if created:
            value = getattr(obj, attr.key)
            if value is not None and attr.key != "id":
                changes[attr.key] = MASK if column.info.get("secret") else plain(value)
        elif history.has_changes():
            before = history.deleted[0] if history.deleted else None
            after = history.added[0] if history.added else None
            if column.info.get("secret"):
                changes[attr.key] = {"from": MASK, "to": MASK}
            elif before != after:
                changes[attr.key] = {"from": plain(before), "to": plain(after)}
    return changes


@cache
def _audited_columns(model: type[Entity]) -> tuple[tuple[str, bool], ...]:
    """(attribute, secret) of `model`'s audited columns, in the mapper's order."""
    return tuple(
        (attr.key, bool(attr.columns[0].info.get("secret")))
        for attr in inspect(model).column_attrs
        if attr.columns[0].info.get("audit", True) is not False
        and attr.key not in {"updated_at", "created_at", "id"}
    )


def created_changes(model: type[Entity], values: Mapping[str, Any]) -> dict[str, Any]:
    """The changes `_column_changes` records for a new `model` row holding `values`
    (attribute -> value, absent meaning None), for a lean path writing the row without the
    ORM (services.jobs.lean_create): same keys, same order, same masking."""
    return {
        key: MASK if secret else plain(values[key])
        for key, secret in _audited_columns(model)
        if values.get(key) is not None
    }


def _entry(actor: AuditActor, obj: Entity, action: str, changes: dict[str, Any]) -> dict[str, Any]:
    account_id = getattr(obj, "account_id", None)
    if obj.__audit_entity__ == "account":
        account_id = obj.id
    return {
        "guid": new_guid(),
        "account_id": account_id if account_id is not None else actor.account_id,
        "at": utcnow(),
        "actor_kind": actor.kind,
        "actor_guid": actor.guid,
        "actor_name": actor.name,
        "address": actor.address,
        "user_agent": actor.user_agent[:512],
        "action": action,
        "object_type": obj.__audit_entity__,
        "object_id": obj.id,
        "object_guid": obj.guid,
        "changes": changes,
        "message": f"{action} {obj.__audit_entity__} {obj.guid}",
    }


def _record_changes(session: Session, _flush: UOWTransaction) -> None:
    actor: AuditActor | None = session.info.get("actor")
    if actor is None:
        return
    entries: list[dict[str, Any]] = []
    for obj in session.new:
        if isinstance(obj, Entity) and obj.__audit_entity__:
            entries.append(_entry(actor, obj, "create", _column_changes(obj, created=True)))
    for obj in session.dirty:
        if not (isinstance(obj, Entity) and obj.__audit_entity__) or not session.is_modified(obj):
            continue
        changes = _column_changes(obj, created=False)
        if not changes:
            continue
        deleted = changes.get("is_deleted", {}).get("to") is True
        entries.append(_entry(actor, obj, "delete" if deleted else "update", changes))
    for obj in session.deleted:
        if isinstance(obj, Entity) and obj.__audit_entity__:
            entries.append(_entry(actor, obj, "delete", {}))
    if entries:
        session.connection().execute(insert(AuditRow), entries)


def install_audit(db: Database) -> Callable[[], None]:
    """Record the changes of every write through `db` from now on; returns the undo."""
    return db.listen("after_flush", _record_changes)


def record_event(
    session: Session,
    actor: AuditActor,
    *,
    action: str,
    object_type: str,
    object_guid: str | None,
    message: str,
    changes: dict[str, Any] | None = None,
    account_id: int | None = None,
) -> None:
    """Record something that is not a row change (a login, a key rotation, a job command)."""
    session.execute(
        insert(AuditRow),
        [
            {
                "guid": new_guid(),
                "account_id": account_id if account_id is not None else actor.account_id,
                "at": utcnow(),
                "actor_kind": actor.kind,
                "actor_guid": actor.guid,
                "actor_name": actor.name,
                "address": actor.address,
                "user_agent": actor.user_agent[:512],
                "action": action,
                "object_type": object_type,
                "object_id": None,
                "object_guid": object_guid,
                "changes": changes or {},
                "message": message,
            }
        ],
    )
