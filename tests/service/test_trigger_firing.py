"""How a fire becomes a job: every job rule, with chosen times, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from robofleet.server.domain.jobs import JobStatus
from robofleet.server.domain.tasks import TaskStatus
from robofleet.server.services.triggers.firing import FireRequest, fire_in_session
from tests.service.conftest import Service
from tests.service.triggers_support import TESTER, Place, place_in
from tests.support.fleet import make_process, make_robot
from tests.support.queues import add, make_queue
from tests.support.resources import make_group_with

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def place(store_service: Service) -> Place:
    return place_in(store_service)


def test_a_fire_creates_the_job_the_trigger_describes_once_per_key(place: Place) -> None:
    robot = make_robot(place.tenant.api)
    process = make_process(place.tenant.api)
    trigger = place.trigger(
        process,
        robot_id=place.robot(robot),
        priority=3,
        parameters={"month": "2026-03"},
        stop_after_seconds=60,
        abort_after_seconds=120,
    )
    first = place.fire(trigger, NOW, key="at:2026-03-10T12:00:00")
    assert first.created and not first.duplicate and first.job_guid
    again = place.fire(trigger, NOW, key="at:2026-03-10T12:00:00")
    assert again.duplicate and not again.created and again.fire_id is None
    (job,) = place.jobs(trigger)
    assert job.guid == first.job_guid
    assert (job.source, job.priority, job.parameters) == ("Trigger", 3, {"month": "2026-03"})
    assert job.requested_robot_id == place.robot(robot)
    assert job.stop_after == NOW + timedelta(seconds=60)
    assert job.abort_after == NOW + timedelta(seconds=120)
    (record,) = place.fires(trigger)
    assert (record.outcome, record.reason, record.job_id) == ("created", "schedule", job.id)
    assert record.scheduled_at == NOW
    row = place.row(trigger)
    assert (row.runs, row.month_runs, row.month, row.last_fire_at) == (1, 1, "2026-03", NOW)


def test_a_duplicate_in_the_callers_transaction_writes_nothing(place: Place) -> None:
    trigger = place.trigger(make_process(place.tenant.api))
    request = FireRequest(trigger, "mail", "mail:abc", None, NOW)
    with place.runtime.db.write(actor=TESTER) as session:
        assert fire_in_session(session, place.runtime, request).created
    with place.runtime.db.write(actor=TESTER) as session:
        outcome = fire_in_session(session, place.runtime, request)
        assert outcome.duplicate and not outcome.created
    assert len(place.jobs(trigger)) == 1 and len(place.fires(trigger)) == 1


def test_max_runs_counts_created_jobs_only_and_completes_the_trigger(place: Place) -> None:
    robot = make_robot(place.tenant.api)
    trigger = place.trigger(make_process(place.tenant.api), robot_id=place.robot(robot), max_runs=2)
    assert place.fire(trigger, NOW).created
    # The robot is busy: a skip, which does not count as a run.
    skipped = place.fire(trigger, NOW + timedelta(minutes=1))
    assert not skipped.created and skipped.detail == "the robot is busy"
    assert place.row(trigger).runs == 1
    place.set_job_status(place.jobs(trigger)[0].id, int(JobStatus.SUCCESS))
    assert place.fire(trigger, NOW + timedelta(minutes=2)).created
    row = place.row(trigger)
    assert (row.runs, row.status, row.next_fire_at) == (2, 2, None)
    after = place.fire(trigger, NOW + timedelta(minutes=3))
    assert not after.created and after.detail == "the trigger is completed"
    # Enabled again without more runs: the limit still holds.
    place.update(trigger, status=1)
    assert place.fire(trigger, NOW + timedelta(minutes=4)).detail == "max runs 2 reached"
    assert [f.outcome for f in place.fires(trigger)] == [
        "created",
        "skipped",
        "created",
        "skipped",
        "skipped",
    ]


def test_monthly_runs_count_in_the_triggers_time_zone(place: Place) -> None:
    trigger = place.trigger(
        make_process(place.tenant.api), max_monthly_runs=1, time_zone="Asia/Tokyo"
    )
    # 2026-03-31 14:00 UTC is already April 1st in Tokyo (UTC+9).
    march = datetime(2026, 3, 31, 14, 0, tzinfo=UTC) - timedelta(hours=1)
    assert place.fire(trigger, march).created
    assert place.row(trigger).month == "2026-03"
    assert place.fire(trigger, march + timedelta(minutes=30)).detail == (
        "max monthly runs 1 reached in 2026-03"
    )
    april = datetime(2026, 3, 31, 15, 0, tzinfo=UTC)
    assert place.fire(trigger, april).created
    row = place.row(trigger)
    assert (row.month, row.month_runs, row.runs) == ("2026-04", 1, 2)


def test_max_running_robots_counts_pending_in_progress_and_unknown(place: Place) -> None:
    trigger = place.trigger(make_process(place.tenant.api), max_running_robots=2)
    first, second = place.fire(trigger, NOW), place.fire(trigger, NOW)
    assert first.created and second.created
    capped = place.fire(trigger, NOW)
    assert capped.detail == "max running robots 2 reached (2 jobs pending or running)"
    jobs = place.jobs(trigger)
    for status in (JobStatus.IN_PROGRESS, JobStatus.UNKNOWN):
        place.set_job_status(jobs[0].id, int(status))
        assert not place.fire(trigger, NOW).created
    place.set_job_status(jobs[0].id, int(JobStatus.FAILED))
    assert place.fire(trigger, NOW).created


def test_a_group_job_goes_to_a_free_robot_then_the_busy_rule_decides(place: Place) -> None:
    api = place.tenant.api
    robots = [make_robot(api), make_robot(api)]
    group = make_group_with(api, *robots)
    ids = [place.robot(r) for r in robots]
    process = make_process(api)
    skip = place.trigger(process, robot_type=2, robot_group_id=place.group(group))
    first, second = place.fire(skip, NOW), place.fire(skip, NOW)
    assert {j.requested_robot_id for j in place.jobs(skip)} == set(ids)
    assert first.created and second.created
    assert place.fire(skip, NOW).detail == "all robots busy"

    any_free = place.trigger(
        process, robot_type=2, robot_group_id=place.group(group), when_busy="any_free"
    )
    queued = place.fire(any_free, NOW)
    (job,) = place.jobs(any_free)
    assert queued.created and job.requested_robot_id is None
    assert job.robot_group_id == place.group(group)

    fewest = place.trigger(
        process, robot_type=2, robot_group_id=place.group(group), when_busy="fewest_pending"
    )
    # Robot 0 runs its job; robot 1's job is still pending: robot 0 has fewer pending.
    place.set_job_status(place.jobs(skip)[0].id, int(JobStatus.IN_PROGRESS), ids[0])
    assert place.fire(fewest, NOW).created
    assert place.jobs(fewest)[0].requested_robot_id == ids[0]
    # Now each has one pending job: the tie goes to the first robot.
    assert place.fire(fewest, NOW).created
    assert place.jobs(fewest)[1].requested_robot_id == ids[0]
    assert place.fire(fewest, NOW).created
    assert place.jobs(fewest)[2].requested_robot_id == ids[1]


def test_a_test_fire_works_on_a_disabled_trigger_and_counts_no_run(place: Place) -> None:
    trigger = place.trigger(make_process(place.tenant.api), status=0, max_runs=1)
    assert place.fire(trigger, NOW).detail == "the trigger is disabled"
    tested = place.fire(trigger, NOW, reason="test")
    assert tested.created
    assert place.row(trigger).runs == 0
    assert [f.reason for f in place.fires(trigger)] == ["schedule", "test"]


def test_the_default_task_is_taken_in_progress_or_left_new(place: Place) -> None:
    api = place.tenant.api
    queue = make_queue(api)
    tagged = add(api, queue, "tagged", Tags="a;b")
    add(api, queue, "plain")
    process = make_process(api)
    taking = place.trigger(
        process, queue_id=place.queue(queue), queue_condition={"tags": ["a", "b"]}
    )
    assert place.fire(taking, NOW, reason="queue").created
    (job,) = place.jobs(taking)
    task = api.get(f"/api/task/read/{tagged['guid']}").json()
    assert int(task["status"]) == int(TaskStatus.IN_PROGRESS)
    assert job.task_id is not None
    # No other task has both tags: the next queue fire is skipped.
    assert place.fire(taking, NOW, reason="queue").detail == "no New task in the queue for the job"

    leaving = place.trigger(
        process, queue_id=place.queue(queue), queue_condition={"take_status": "New"}
    )
    assert place.fire(leaving, NOW, reason="queue").created
    (job,) = place.jobs(leaving)
    plain = api.get("/api/task/read/" + str(job.task_id)).json()
    assert plain["name"] == "plain" and int(plain["status"]) == int(TaskStatus.NEW)
    # The task left New is spoken for while its job lives.
    assert not place.fire(leaving, NOW, reason="queue").created
