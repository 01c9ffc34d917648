"""The hot paths render their task answers themselves: the bytes must be the models'."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from robofleet.server.db.task_statements.records import TaskRecord
from robofleet.server.schemas.queues import ItemResult, ItemResults, TaskList
from robofleet.server.services.tasks.views import ok_results_json, task_list_json, task_reads

NOW = datetime(2026, 12, 5, 9, 30, 15, 123456, tzinfo=UTC)
TEXTS = ["", "plain", "ünïcödé ✓", 'quote " and \\ backslash', "line\nbreak\ttab", "😀", "a;b;"]


def _json_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 7, 2**53 + 1, 2**63 - 1, -(2**63)])
    if kind == 3:
        return rng.choice([0.0, -0.5, 1.0, 1e16, 1.5e-7, 3.141592653589793, 1e300, -2.5e-300])
    if kind == 4:
        return rng.choice(TEXTS)
    if kind == 5:
        return [_json_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    size = rng.randrange(4)
    return {rng.choice(TEXTS) + str(i): _json_value(rng, depth + 1) for i in range(size)}


def _time(rng: random.Random) -> datetime | None:
    return rng.choice(
        [
            None,
            NOW,
            NOW + timedelta(days=rng.randrange(-900, 900), seconds=rng.randrange(86400)),
            NOW.astimezone(timezone(timedelta(hours=-5))),
            datetime(9999, 12, 31, tzinfo=UTC),
        ]
    )


def _record(rng: random.Random, index: int) -> TaskRecord:
    values: dict[str, Any] = {
        "id": index + 1,
        "guid": f"00000000-0000-4000-8000-{index:012d}",
        "account_id": 1,
        "queue_id": rng.choice([7, 8]),
        "name": rng.choice(TEXTS),
        "unique_name": None,
        "description": rng.choice(TEXTS),
        "comment": rng.choice(TEXTS),
        "parameters": {"n": index, "v": _json_value(rng)},
        "output": _json_value(rng),
        "error_type": rng.choice(["", "Business"]),
        "error_message": rng.choice(["", "it broke"]),
        "error_details": rng.choice(["", "at line 3"]),
        "priority": rng.choice([1, 2, 3]),
        "rank": 2,
        "tags": rng.choice(["", "eu;", ";a;b;", "x"]),
        "status": rng.choice([0, 1, 2, 3, 4, 5]),
        "postponed_until": _time(rng),
        "deadline": _time(rng),
        "deadline_key": NOW,
        "job_id": rng.choice([None, 11]),
        "retries": rng.randrange(3),
        "parent_task_id": rng.choice([None, 99]),
        "lease_id": rng.choice([None, "9f1c2d3e-0000-4000-8000-000000000001"]),
        "lease_owner": None,
        "lease_robot_id": None,
        "lease_seconds": None,
        "lease_expires_at": _time(rng),
        "finish_lease_id": None,
        "idempotency_key": None,
        "request_digest": None,
        "started_at": _time(rng),
        "finished_at": _time(rng),
        "status_changed_at": NOW,
        "is_deleted": rng.choice([False, True, 0, 1]),
        "created_at": _time(rng) or NOW,
        "updated_at": NOW,
    }
    return TaskRecord(**values)


LINKS = {
    "queue_guids": {7: "q-7", 8: "q-8"},
    "job_guids": {11: "j-11"},
    "parent_guids": {99: "p-99"},
}


def test_a_rendered_task_list_is_the_models_json_byte_for_byte() -> None:
    rng = random.Random(20261205)
    for case in range(300):
        tasks = [_record(rng, case * 10 + i) for i in range(rng.randrange(1, 6))]
        for with_lease in (True, False):
            models = TaskList(tasks=task_reads(None, tasks, with_lease=with_lease, **LINKS))
            expected = models.model_dump_json(by_alias=True).encode()
            assert task_list_json(tasks, with_lease=with_lease, **LINKS).body == expected


def test_an_empty_take_renders_an_empty_list() -> None:
    assert task_list_json([], with_lease=True, **LINKS).body == b'{"tasks":[]}'


def test_a_value_orjson_refuses_is_rendered_by_the_models() -> None:
    task = _record(random.Random(1), 0)._replace(parameters={"big": 2**64 + 1})
    rendered = task_list_json([task], with_lease=True, **LINKS).body
    assert b'"big":18446744073709551617' in rendered


def test_rendered_ok_results_are_the_models_json() -> None:
    guids = ["00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"]
    models = ItemResults(results=[ItemResult(guid=guid, ok=True) for guid in guids])
    assert ok_results_json(guids).body == models.model_dump_json().encode()
    assert ok_results_json([]).body == b'{"results":[]}'
