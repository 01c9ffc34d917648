"""The trigger clock thread in a running app (SQLite, and PostgreSQL with its NOTIFY): it fires
a due time on its own and reacts to tasks added to a watched queue."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from robofleet.server.db.base import utcnow
from robofleet.server.scheduler.loop import FailureLog
from robofleet.server.scheduler.triggers import TriggerClock
from tests.service.conftest import Service
from tests.service.triggers_support import place_in
from tests.support.fleet import make_process
from tests.support.queues import add, make_queue


def eventually(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def test_the_clock_fires_due_times_and_reacts_to_task_arrivals(store_service: Service) -> None:
    place = place_in(store_service)
    api = place.tenant.api
    queue = make_queue(api)
    process = make_process(api)
    watching = place.trigger(
        process,
        processing_type=1,
        schedule_kind="continuous",
        cron_tab=None,
        queue_id=place.queue(queue),
        queue_condition={"min_new_tasks": 1},
    )
    soon = (utcnow() + timedelta(seconds=0.7)).replace(microsecond=0) + timedelta(seconds=1)
    cron = place.trigger(process, cron_tab="0 0 1 1 *", next_fire_at=soon)
    clock = TriggerClock(store_service.runtime, lambda now: True, FailureLog())
    clock.start()
    try:
        assert eventually(lambda: len(place.jobs(cron)) == 1)
        job = place.jobs(cron)[0]
        assert timedelta(0) <= job.created_at - soon < timedelta(seconds=1)
        add(api, queue, "first")
        time.sleep(0.3)
        assert place.jobs(watching) == []  # one New task is not more than one
        add(api, queue, "second")
        # Well before the clock's safety re-check (5 s): the arrival woke it.
        assert eventually(lambda: len(place.jobs(watching)) == 2, seconds=1.5)
    finally:
        clock.stop()
