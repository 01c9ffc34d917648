"""Test a trigger: create a job now exactly as the trigger would (Sherpa's "Test" button).

The fire goes through the engine's one firing function with a key of its own, so the job
rules apply (concurrency cap, busy robots, default task) and the history records it like any
fire; as the operator's "run it now" it also works on a disabled or completed trigger and
counts toward neither MaxRuns nor MaxMonthlyRuns (docs/triggers.md).
Whoever may update a trigger may test it: they could set it to fire in a minute anyway."""

from __future__ import annotations

from uuid import uuid4

from robofleet.server.db.base import utcnow
from robofleet.server.domain.permissions import Action, Screen
from robofleet.server.runtime import Runtime
from robofleet.server.schemas.triggers import TriggerTestResult
from robofleet.server.services.access.caller import Caller
from robofleet.server.services.triggers.crud import find_trigger
from robofleet.server.services.triggers.firing import FireRequest, fire


def try_trigger(runtime: Runtime, caller: Caller, ref: int | str) -> TriggerTestResult:
    caller.require(Screen.TRIGGER, Action.UPDATE)
    with runtime.db.read() as session:
        trigger_id = find_trigger(session, caller, ref).id
    outcome = fire(runtime, FireRequest(trigger_id, "test", "test:" + uuid4().hex, None, utcnow()))
    return TriggerTestResult(
        created=outcome.created,
        duplicate=outcome.duplicate,
        detail=outcome.detail,
        job_id=outcome.job_id,
        job_guid=outcome.job_guid,
    )
