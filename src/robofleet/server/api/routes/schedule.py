"""Trigger tab (Sherpa's `/api/schedule/*`): Sherpa's four operations, then Robofleet's
list, enable/disable, preview and history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from robofleet.server.api.deps import CallerDep, RuntimeDep
from robofleet.server.api.routing import sherpa_router
from robofleet.server.schemas.base import GuidResponse, Page
from robofleet.server.schemas.trigger_mail import MailboxTry
from robofleet.server.schemas.triggers import (
    HistoryQuery,
    PreviewQuery,
    TriggerCreate,
    TriggerFilter,
    TriggerFireRead,
    TriggerPreview,
    TriggerRead,
    TriggerSchedule,
    TriggerTestResult,
    TriggerUpdate,
)
from robofleet.server.services.triggers import crud, history, mail_try, trial

router = sherpa_router("Trigger", prefix="/api/schedule")


@router.post("/create", summary="Create a trigger (schedule, queue or e-mail condition)")
def create_trigger(body: TriggerCreate, runtime: RuntimeDep, caller: CallerDep) -> GuidResponse:
    """`ProcessingType` 1 continuous, 2 by schedule (`CronTab`, or `ScheduleKind` last_day /
    nth_day); the target is `RobotId` or `RobotGroupId`. The next fire time is computed and
    stored at once (see `next_fire_at` on read)."""
    return crud.create_trigger(runtime, caller, body)


@router.get("/read/{guid}", summary="Read a trigger by id, GUID or name")
def read_trigger(guid: str, runtime: RuntimeDep, caller: CallerDep) -> TriggerRead:
    return crud.read_trigger(runtime, caller, guid)


@router.put("/update", summary="Update a trigger")
def update_trigger(body: TriggerUpdate, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    """Fields left out keep their values; a change of the schedule (or of Status) counts the
    next fire time from now."""
    crud.update_trigger(runtime, caller, body)
    return []


@router.delete("/delete/{guid}", summary="Delete a trigger")
def delete_trigger(guid: str, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    crud.delete_trigger(runtime, caller, guid)
    return []


@router.get("/list", summary="List triggers with filters and paging")
def list_triggers_get(
    query: Annotated[TriggerFilter, Query()], runtime: RuntimeDep, caller: CallerDep
) -> Page[TriggerRead]:
    return crud.list_triggers(runtime, caller, query)


@router.post("/list", summary="List triggers with filters in the body")
def list_triggers_post(
    body: TriggerFilter, runtime: RuntimeDep, caller: CallerDep
) -> Page[TriggerRead]:
    return crud.list_triggers(runtime, caller, body)


@router.post("/enable/{guid}", summary="Enable a trigger (its schedule counts from now)")
def enable_trigger(guid: str, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    crud.set_enabled(runtime, caller, guid, enabled=True)
    return []


@router.post("/disable/{guid}", summary="Disable a trigger")
def disable_trigger(guid: str, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    crud.set_enabled(runtime, caller, guid, enabled=False)
    return []


@router.get("/preview/{guid}", summary="The next fire times of a trigger")
def preview_trigger(
    guid: str,
    query: Annotated[PreviewQuery, Query()],
    runtime: RuntimeDep,
    caller: CallerDep,
) -> TriggerPreview:
    """Times in UTC and in the trigger's zone, after now (or after StartAt when later),
    calendar and window applied. A continuous trigger has none."""
    return history.preview_trigger(runtime, caller, guid, query.count)


@router.post("/preview", summary="The next fire times of a schedule not saved yet")
def preview_schedule(
    body: TriggerSchedule, runtime: RuntimeDep, caller: CallerDep
) -> TriggerPreview:
    return history.preview_schedule(runtime, caller, body)


@router.get("/history/{guid}", summary="A trigger's fires, newest first: created or skipped")
def trigger_history(
    guid: str,
    query: Annotated[HistoryQuery, Query()],
    runtime: RuntimeDep,
    caller: CallerDep,
) -> Page[TriggerFireRead]:
    return history.trigger_history(runtime, caller, guid, query)


@router.post("/test/{guid}", summary="Test a trigger: create a job now as it would")
def try_trigger(guid: str, runtime: RuntimeDep, caller: CallerDep) -> TriggerTestResult:
    """Every job rule applies (max runs, concurrency cap, busy robots): `created` false with
    `detail` saying why when the trigger would not create one now. The fire is in the
    trigger's history (reason `test`)."""
    return trial.try_trigger(runtime, caller, guid)


@router.post("/testMail/{guid}", summary="Test a trigger's mailbox: what a check would find")
def try_mailbox(guid: str, runtime: RuntimeDep, caller: CallerDep) -> MailboxTry:
    """Sherpa's "test mail" button: reads the mailbox of the trigger's MailCondition and
    changes nothing (no job, no mail marked read). `ok` false with `error` when the mailbox
    cannot be read."""
    return mail_try.try_mailbox(runtime, caller, guid)
