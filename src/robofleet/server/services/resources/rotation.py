"""Key rotation: every credential password re-encrypted under a new data key, while the
servers keep running.

1. Start: a new data key becomes the active one (new writes use it); the old keys become
   `retiring`: they still decrypt, so every secret stays readable throughout.
2. Move: batches of rows still under another key are decrypted and sealed again under the
   new key, one short transaction per batch (rows are locked only for their batch).
3. Finish: when no row refers to a retiring key any more, those keys are retired and their
   wrapped material erased, in the same transaction as that check.

Interrupted anywhere, running it again resumes: a rotation whose retiring keys remain goes on
with the newest active key rather than starting another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from robofleet.server.db.audit import AuditActor, record_event
from robofleet.server.db.base import utcnow
from robofleet.server.db.tables import DataKeyRow, ResourceRow
from robofleet.server.runtime import Runtime
from robofleet.server.runtime.secret_box import ACTIVE, RETIRED, RETIRING
from robofleet.server.services.resources.crud import associated_data

KEY_ROTATION = AuditActor(kind="system", guid=None, name="key rotation", account_id=None)


@dataclass
class RotationReport:
    key_id: str
    resumed: bool
    reencrypted: int = 0
    retired: list[str] = field(default_factory=list)
    finished: bool = False


def _start(runtime: Runtime, session: Session) -> RotationReport:
    keys = session.scalars(
        select(DataKeyRow)
        .where(DataKeyRow.state.in_([ACTIVE, RETIRING]))
        .order_by(DataKeyRow.id)
        .with_for_update()
    ).all()
    for key in keys:
        runtime.secret_box.check_opens(key)
    active = [key for key in keys if key.state == ACTIVE]
    if active and len(active) < len(keys):
        # A rotation was interrupted: go on with its key; stray active keys retire too.
        for key in active[:-1]:
            key.state = RETIRING
        return RotationReport(key_id=active[-1].key_id, resumed=True)
    target = runtime.secret_box.new_data_key(session)
    for key in keys:
        key.state = RETIRING
    record_event(
        session,
        KEY_ROTATION,
        action="rotate",
        object_type="data_key",
        object_guid=target.key_id,
        message=f"key rotation started: new data key {target.key_id}",
    )
    return RotationReport(key_id=target.key_id, resumed=False)


def _move_batch(runtime: Runtime, session: Session, key_id: str, size: int) -> int:
    target = session.scalar(select(DataKeyRow).where(DataKeyRow.key_id == key_id))
    assert target is not None
    rows = session.scalars(
        select(ResourceRow)
        .where(
            ResourceRow.password_ciphertext.is_not(None),
            or_(ResourceRow.password_key_id.is_(None), ResourceRow.password_key_id != key_id),
        )
        .order_by(ResourceRow.id)
        .limit(size)
        .with_for_update()
    ).all()
    box = runtime.secret_box
    for row in rows:
        assert row.password_ciphertext is not None
        associated = associated_data(row)
        sealed = box.seal(
            session, box.open(session, row.password_ciphertext, associated), associated, key=target
        )
        # A Core update: the value a user sees is unchanged, so neither updated_at nor the
        # audit log should say otherwise.
        session.execute(
            update(ResourceRow)
            .where(ResourceRow.id == row.id)
            .values(
                password_ciphertext=sealed.token,
                password_key_id=sealed.key_id,
                updated_at=ResourceRow.updated_at,
            )
            .execution_options(synchronize_session=False)
        )
    session.expunge_all()
    return len(rows)


def _finish(session: Session, report: RotationReport) -> bool:
    retiring = session.scalars(
        select(DataKeyRow).where(DataKeyRow.state == RETIRING).with_for_update()
    ).all()
    ids = [key.key_id for key in retiring]
    if ids:
        left = session.scalar(select(func.count()).where(ResourceRow.password_key_id.in_(ids)))
        if left:
            return False  # a write under an old key slipped in: move it first
    now = utcnow()
    for key in retiring:
        key.state, key.wrapped, key.retired_at = RETIRED, None, now
    record_event(
        session,
        KEY_ROTATION,
        action="rotate",
        object_type="data_key",
        object_guid=report.key_id,
        message=f"key rotation finished: {len(ids)} data key(s) retired",
    )
    report.retired = ids
    return True


def rotate_keys(
    runtime: Runtime,
    *,
    batch_size: int = 200,
    max_batches: int | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> RotationReport:
    """Rotate (or resume a rotation); `max_batches` stops early, to resume later."""
    with runtime.db.write(actor=KEY_ROTATION) as session:
        report = _start(runtime, session)
    batches = 0
    while True:
        while max_batches is None or batches < max_batches:
            with runtime.db.write(actor=KEY_ROTATION) as session:
                moved = _move_batch(runtime, session, report.key_id, batch_size)
            if not moved:
                break
            batches += 1
            report.reencrypted += moved
            if on_batch:
                on_batch(moved)
        else:
            return report  # stopped early; running again resumes
        with runtime.db.write(actor=KEY_ROTATION) as session:
            if _finish(session, report):
                report.finished = True
                return report


def key_states(runtime: Runtime) -> dict[str, int]:
    """How many data keys are in each state, and how many secrets each state holds."""
    with runtime.db.read() as session:
        keys = dict(
            session.execute(select(DataKeyRow.state, func.count()).group_by(DataKeyRow.state)).all()
        )
        return {str(state): int(count) for state, count in keys.items()}
