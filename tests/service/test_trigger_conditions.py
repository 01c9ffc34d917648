"""What fires a trigger, with chosen times: due schedule times (on time, missed with and
without CheckMissedTrigger, priority order), continuous triggers and queue conditions, on
SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from robofleet.server.domain.errors import Conflict
from robofleet.server.domain.jobs import JobStatus
from robofleet.server.services.triggers.continuous import fire_continuous, idle_continuous
from robofleet.server.services.triggers.due import due_triggers, fire_due, fire_due_batch
from robofleet.server.services.triggers.queue_watch import check_queue, queue_triggers
from tests.service.conftest import Service
from tests.service.triggers_support import Place, place_in
from tests.support.fleet import make_process, make_robot
from tests.support.queues import add, make_queue
from tests.support.resources import make_group_with

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def place(store_service: Service) -> Place:
    return place_in(store_service)


def test_a_due_time_fires_once_and_moves_to_the_next(place: Place) -> None:
    trigger = place.trigger(make_process(place.tenant.api), next_fire_at=NOON)
    assert fire_due(place.runtime, trigger, NOON - timedelta(seconds=1)) is None
    outcome = fire_due(place.runtime, trigger, NOON + timedelta(milliseconds=300))
    assert outcome is not None and outcome.created
    assert place.row(trigger).next_fire_at == NOON + timedelta(hours=1)
    # A second leader arriving late at the same time finds nothing due.
    assert fire_due(place.runtime, trigger, NOON + timedelta(seconds=2)) is None
    (record,) = place.fires(trigger)
    assert (record.fire_key, record.reason) == ("at:2026-03-10T12:00:00", "schedule")
    assert len(place.jobs(trigger)) == 1


def test_missed_times_fire_once_with_check_missed_and_never_a_burst(place: Place) -> None:
    process = make_process(place.tenant.api)
    nine = NOON - timedelta(hours=3)
    catching = place.trigger(process, next_fire_at=nine, check_missed=True)
    skipping = place.trigger(process, next_fire_at=nine, check_missed=False)
    later = NOON + timedelta(minutes=30)  # the scheduler comes back at 12:30
    caught = fire_due(place.runtime, catching, later)
    assert caught is not None and caught.created
    assert fire_due(place.runtime, skipping, later) is not None
    assert len(place.jobs(catching)) == 1 and place.jobs(skipping) == []
    records = [(f.reason, f.outcome, f.fire_key, f.detail) for f in place.fires(catching)]
    assert records[0] == (
        "missed",
        "skipped",
        "at:2026-03-10T09:00:00",
        "missed 3 fire time(s) from 2026-03-10 09:00:00 UTC",
    )
    assert records[1][:3] == ("missed", "created", "at:2026-03-10T12:00:00")
    (skip,) = place.fires(skipping)
    assert skip.detail == "missed 4 fire time(s) from 2026-03-10 09:00:00 UTC"
    for trigger in (catching, skipping):
        assert place.row(trigger).next_fire_at == NOON + timedelta(hours=1)


def test_triggers_due_together_fire_in_priority_order(place: Place) -> None:
    process = make_process(place.tenant.api)
    at = datetime(2031, 1, 1, 8, 0, tzinfo=UTC)  # later than every other test's times
    low, high, normal = (place.trigger(process, next_fire_at=at, priority=p) for p in (1, 3, 2))
    due = [t for t, _ in due_triggers(place.runtime, at) if t in (low, high, normal)]
    assert due == [high, normal, low]
    for trigger in due:
        fire_due(place.runtime, trigger, at)
    jobs = [place.jobs(t)[0] for t in (high, normal, low)]
    assert [j.priority for j in jobs] == [3, 2, 1]
    assert jobs[0].id < jobs[1].id < jobs[2].id


def test_a_batch_of_fires_sees_the_robots_its_earlier_fires_took(place: Place) -> None:
    """The scheduler writes a batch's jobs together at its end; until then the rules count
    the robots the batch gave jobs to as busy, and its pending jobs per robot."""
    api = place.tenant.api
    process = make_process(api)
    robots = [make_robot(api) for _ in range(2)]
    group = place.group(make_group_with(api, *robots))
    at = datetime(2031, 2, 1, 8, 0, tzinfo=UTC)

    def on_group(when_busy: str) -> int:
        return place.trigger(
            process, robot_type=2, robot_group_id=group, when_busy=when_busy, next_fire_at=at
        )

    taking = [on_group("skip") for _ in range(3)]
    spreading = [on_group("fewest_pending") for _ in range(4)]
    outcomes = fire_due_batch(place.runtime, taking + spreading, at)
    assert [bool(o and o.created) for o in outcomes] == [True, True, False] + [True] * 4
    first, second = (place.jobs(t)[0].robot_id for t in taking[:2])
    assert {first, second} == {place.robot(r) for r in robots}
    (skip,) = place.fires(taking[2])
    assert (skip.outcome, skip.detail) == ("skipped", "all robots busy")
    # Both robots hold one job; the four queued ones go two and two, not all on one.
    queued = Counter(place.jobs(t)[0].robot_id for t in spreading)
    assert sorted(queued.values()) == [2, 2]
    created = taking[:2] + spreading
    assert [place.fires(t)[0].job_id for t in created] == [place.jobs(t)[0].id for t in created]
    assert {place.row(t).next_fire_at for t in taking + spreading} == {at + timedelta(hours=1)}


def test_a_batch_with_a_key_taken_elsewhere_fails_whole_and_each_then_fires_alone(
    place: Place,
) -> None:
    """Another node fired one of the batch's keys meanwhile: nothing of the batch commits;
    fired alone (as the trigger clock then does), the others fire and the taken one is a
    duplicate that still moves on to its next time."""
    process = make_process(place.tenant.api)
    at = datetime(2031, 3, 1, 8, 0, tzinfo=UTC)
    mine, taken = (place.trigger(process, next_fire_at=at) for _ in range(2))
    assert place.fire(taken, at, key="at:2031-03-01T08:00:00").created
    place.update(taken, next_fire_at=at)  # as if this node had not yet seen the other's commit
    with pytest.raises(Conflict):
        fire_due_batch(place.runtime, [mine, taken], at)
    assert place.jobs(mine) == [] and place.row(mine).next_fire_at == at
    alone = [fire_due(place.runtime, t, at) for t in (mine, taken)]
    assert alone[0] is not None and alone[0].created
    assert alone[1] is not None and alone[1].duplicate
    assert len(place.jobs(taken)) == 1
    assert place.row(taken).next_fire_at == at + timedelta(hours=1)


def test_a_cron_time_with_a_queue_condition_fires_only_when_it_holds(place: Place) -> None:
    api = place.tenant.api
    queue = make_queue(api)
    trigger = place.trigger(
        make_process(api),
        next_fire_at=NOON,
        queue_id=place.queue(queue),
        queue_condition={"min_new_tasks": 1},
    )
    add(api, queue, "only one")
    fire_due(place.runtime, trigger, NOON)
    assert place.fires(trigger)[-1].detail == (
        "queue condition not met: 1 New task(s), needs more than 1"
    )
    add(api, queue, "the second")
    outcome = fire_due(place.runtime, trigger, NOON + timedelta(hours=1))
    assert outcome is not None and outcome.created


def test_a_continuous_trigger_keeps_one_job_within_its_window(place: Place) -> None:
    trigger = place.trigger(
        make_process(place.tenant.api),
        processing_type=1,
        schedule_kind="continuous",
        cron_tab=None,
        window_start="08:00",
        window_end="18:00",
        time_zone="Europe/Berlin",
    )
    assert trigger in idle_continuous(place.runtime)
    # 18:30 in Berlin is outside the window.
    assert (
        fire_continuous(place.runtime, trigger, datetime(2026, 3, 10, 17, 30, tzinfo=UTC)) is None
    )
    started = fire_continuous(place.runtime, trigger, NOON)
    assert started is not None and started.created
    assert trigger not in idle_continuous(place.runtime)
    place.set_job_status(place.jobs(trigger)[0].id, int(JobStatus.SUCCESS))
    assert trigger in idle_continuous(place.runtime)
    again = fire_continuous(place.runtime, trigger, NOON + timedelta(minutes=1))
    assert again is not None and again.created
    assert [f.reason for f in place.fires(trigger)] == ["continuous", "continuous"]


def queue_trigger(place: Place, queue: str, cap: int = 0, **condition: object) -> int:
    return place.trigger(
        make_process(place.tenant.api),
        processing_type=1,
        schedule_kind="continuous",
        cron_tab=None,
        queue_id=place.queue(queue),
        queue_condition=condition,
        max_running_robots=cap,
    )


def test_a_queue_condition_counts_tagged_new_tasks_above_its_threshold(place: Place) -> None:
    api = place.tenant.api
    queue = make_queue(api)
    trigger = queue_trigger(place, queue, min_new_tasks=2, tags=["invoice"])
    assert trigger in queue_triggers(place.runtime, {place.queue(queue)})
    add(api, queue, "untagged")
    add(api, queue, "one", Tags="invoice")
    add(api, queue, "two", Tags="invoice;urgent")
    assert check_queue(place.runtime, trigger, NOON) == []
    add(api, queue, "three", Tags="invoice")
    outcomes = check_queue(place.runtime, trigger, NOON)
    # Three tagged New tasks, one job per task: three jobs, each with a tagged task.
    assert [o.created for o in outcomes] == [True, True, True]
    tasks = {j.task_id for j in place.jobs(trigger)}
    assert len(tasks) == 3 and None not in tasks


def test_one_more_job_per_m_tasks_up_to_the_cap(place: Place) -> None:
    api = place.tenant.api
    queue = make_queue(api)
    trigger = queue_trigger(place, queue, tasks_per_job=3, cap=2)
    for index in range(4):
        add(api, queue, f"task {index}")
    # 4 New tasks, one job per 3 (rounded up): 2 jobs.
    assert len(check_queue(place.runtime, trigger, NOON)) == 2
    for index in range(4, 12):
        add(api, queue, f"task {index}")
    # 10 New now want 4 jobs, but the cap of 2 is reached.
    assert check_queue(place.runtime, trigger, NOON) == []
    place.set_job_status(place.jobs(trigger)[0].id, int(JobStatus.SUCCESS))
    assert [o.created for o in check_queue(place.runtime, trigger, NOON)] == [True]
    assert len(place.jobs(trigger)) == 3


def test_a_queue_trigger_finishes_when_its_queue_is_empty(place: Place) -> None:
    api = place.tenant.api
    queue = make_queue(api)
    trigger = queue_trigger(place, queue, finish_when_empty=True)
    # Empty from the start: it waits for work rather than finishing at once.
    assert check_queue(place.runtime, trigger, NOON) == []
    assert place.row(trigger).status == 1
    task = add(api, queue, "the only one")
    assert check_queue(place.runtime, trigger, NOON)[0].created
    (job,) = place.jobs(trigger)
    check_queue(place.runtime, trigger, NOON)
    assert place.row(trigger).status == 1  # its job runs, the task is In Progress
    place.set_job_status(job.id, int(JobStatus.SUCCESS))
    done = api.put("/api/task/update", json={"Guid": task["guid"], "Status": 2})
    assert done.status_code == 200, done.text
    check_queue(place.runtime, trigger, NOON)
    assert place.row(trigger).status == 2
