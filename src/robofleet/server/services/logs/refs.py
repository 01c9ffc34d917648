"""Which robot, job and process version a log line's GUIDs name, cached per process.

Agents send the same job and version GUIDs in every batch; looking them up once a minute
instead of once a batch takes three queries off the hot path. A GUID names one object for
ever, so a cached answer can only go stale by the object's deletion (a line may then still
name it for up to a minute, as if it had been written just before)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from robofleet.server.db.tables import JobRow, ProcessVersionRow, RobotRow
from robofleet.server.domain.errors import NotFound
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.access.robot_scope import own_rows

Model = type[JobRow] | type[RobotRow] | type[ProcessVersionRow]
TTL_SECONDS: Final = 60.0
MAX_ENTRIES: Final = 10_000

_cache: OrderedDict[tuple[str, int, int | None, str], tuple[int, float]] = OrderedDict()
_lock = threading.Lock()


def norm(guid: str | None) -> str | None:
    return guid.strip().lower() or None if guid else None


def ids_for(
    session: Callable[[], Session], caller: Caller, model: Model, entity: str, guids: set[str]
) -> dict[str, int]:
    """The id of each GUID (normalised) the caller may name, or NotFound for the first it
    may not: another account's, or for a robot, anything that is not its own. `session` is
    called (to open one) only when the cache does not know a GUID."""
    if not guids:
        return {}
    now = time.monotonic()
    found: dict[str, int] = {}
    scope = caller.robot_id
    with _lock:
        for guid in guids:
            key = (model.__tablename__, caller.account_id, scope, guid)
            hit = _cache.get(key)
            if hit is not None and hit[1] > now:
                found[guid] = hit[0]
    missing = guids - found.keys()
    if not missing:
        return found
    conditions: list[ColumnElement[bool]] = [
        model.account_id == caller.account_id,
        model.guid.in_(sorted(missing)),
    ]
    own = own_rows(model, scope) if scope is not None else None
    if own is not None:
        conditions.append(own)
    result = session().execute(select(model.guid, model.id).where(*conditions))
    rows = {guid: row_id for guid, row_id in result}
    for guid in sorted(missing - rows.keys()):
        raise NotFound(entity, guid)
    with _lock:
        for guid, row_id in rows.items():
            _cache[(model.__tablename__, caller.account_id, scope, guid)] = (
                row_id,
                now + TTL_SECONDS,
            )
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)
    found.update(rows)
    return found
