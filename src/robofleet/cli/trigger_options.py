"""The options of `robofleet trigger create|update`, and the request body they make.

Each option is one field of `/api/schedule/create` (or a friendlier spelling of it, as
`--window 08:00-18:00` for WindowStart and WindowEnd); an option left out is not sent, so
update keeps the stored value. Anything without an option goes through `--set Field=value`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

PRIORITIES = {"low": 1, "normal": 2, "high": 3}

Cron = Annotated[
    str | None, typer.Option("--cron", help="Cron expression (5 fields, or 6 with seconds).")
]
Continuous = Annotated[
    bool, typer.Option("--continuous", help="Continuous (queue and e-mail triggers).")
]
LastDay = Annotated[
    str | None, typer.Option("--last-day", metavar="HH:MM", help="Last day of month at HH:MM.")
]
NthDay = Annotated[
    int | None, typer.Option("--nth-day", min=1, max=31, help="N-th day of month (with --at).")
]
At = Annotated[str | None, typer.Option("--at", metavar="HH:MM", help="Time for --nth-day.")]
TimeZone = Annotated[str | None, typer.Option("--time-zone", help="IANA zone, e.g. Europe/Moscow.")]
Robot = Annotated[str | None, typer.Option("--robot", help="Target robot (id, GUID or name).")]
Group = Annotated[str | None, typer.Option("--group", help="Target robot group.")]
Queue = Annotated[str | None, typer.Option("--queue", help="Watched queue: a queue trigger.")]
MinNewTasks = Annotated[
    int | None, typer.Option("--min-new-tasks", min=0, help="Fire when New tasks > N.")
]
TasksPerJob = Annotated[
    int | None, typer.Option("--tasks-per-job", min=1, help="One more job per M tasks.")
]
Tags = Annotated[str | None, typer.Option("--tags", help="Only tasks with all these (a,b).")]
TakeStatus = Annotated[
    str | None, typer.Option("--take-status", help="Default task status: new or in-progress.")
]
FinishWhenEmpty = Annotated[
    bool, typer.Option("--finish-when-empty", help="Complete on an empty queue.")
]
Mail = Annotated[
    str | None,
    typer.Option("--mail", metavar="JSON|@FILE", help="MailCondition as JSON, or @file."),
]
Priority = Annotated[
    str | None, typer.Option("--priority", help="Of created jobs: low, normal or high.")
]
Params = Annotated[list[str] | None, typer.Option("--param", "-p", help="Job parameter k=v.")]
MaxRuns = Annotated[int | None, typer.Option("--max-runs", min=0, help="0: no limit.")]
MaxMonthlyRuns = Annotated[int | None, typer.Option("--max-monthly-runs", min=0)]
MaxRobots = Annotated[
    int | None, typer.Option("--max-robots", min=0, help="Max concurrently running robots.")
]
WhenBusy = Annotated[
    str | None, typer.Option("--when-busy", help="skip, any-free or fewest-pending.")
]
Window = Annotated[
    str | None, typer.Option("--window", metavar="HH:MM-HH:MM", help="Daily time window.")
]
Calendar = Annotated[str | None, typer.Option("--calendar", help="Calendar resource.")]
WorkingDays = Annotated[
    bool, typer.Option("--working-days", help="Count working days (last/n-th day).")
]
SkipNonWorking = Annotated[
    bool, typer.Option("--skip-non-working", help="No fire on non-working days.")
]
StartAt = Annotated[str | None, typer.Option("--start-at", help="Valid from (UTC time).")]
EndAt = Annotated[str | None, typer.Option("--end-at", help="Valid to (UTC time).")]
CheckMissed = Annotated[
    bool | None, typer.Option("--check-missed/--no-check-missed", help="Fire once for missed.")
]
StopAfter = Annotated[str | None, typer.Option("--stop-after", help="Soft-stop after h:mm.")]
AbortAfter = Annotated[str | None, typer.Option("--abort-after", help="Abort after h:mm.")]
Description = Annotated[str | None, typer.Option("--description")]
Sets = Annotated[
    list[str] | None,
    typer.Option("--set", help="Any other API field: Field=value (value may be JSON)."),
]


def pairs(items: list[str], hint: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"'{item}' is not name=value", param_hint=hint)
        found[name.strip()] = value
    return found


def _json_values(items: dict[str, Any]) -> dict[str, Any]:
    """`--set MaxRuns=5` sends 5, `--set Description=x` sends "x"."""
    values: dict[str, Any] = {}
    for name, text in items.items():
        try:
            values[name] = json.loads(text)
        except json.JSONDecodeError:
            values[name] = text
    return values


def _mail(text: str) -> Any:
    raw = Path(text[1:]).read_text(encoding="utf-8") if text.startswith("@") else text
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--mail") from None


def schedule_fields(
    cron: str | None,
    continuous: bool | None,
    last_day: str | None,
    nth_day: int | None,
    at: str | None,
) -> dict[str, Any]:
    chosen = [x for x in (cron, continuous, last_day, nth_day) if x]
    if len(chosen) > 1:
        raise typer.BadParameter(
            "choose one of --cron, --continuous, --last-day, --nth-day", param_hint="--cron"
        )
    if cron:
        return {"ProcessingType": 2, "ScheduleKind": "cron", "CronTab": cron}
    if continuous:
        return {"ProcessingType": 1}
    if last_day:
        return {"ScheduleKind": "last_day", "TimeOfDay": last_day}
    if nth_day:
        return {"ScheduleKind": "nth_day", "DayOfMonth": nth_day, "TimeOfDay": at}
    return {}


def queue_condition(
    min_new_tasks: int | None,
    tasks_per_job: int | None,
    tags: str | None,
    take_status: str | None,
    finish_when_empty: bool | None,
) -> dict[str, Any] | None:
    condition: dict[str, Any] = {}
    if min_new_tasks is not None:
        condition["MinNewTasks"] = min_new_tasks
    if tasks_per_job is not None:
        condition["TasksPerJob"] = tasks_per_job
    if tags is not None:
        condition["Tags"] = tags
    if take_status is not None:
        condition["TakeStatus"] = take_status
    if finish_when_empty:
        condition["FinishWhenEmpty"] = True
    return condition or None


def window_fields(window: str | None) -> dict[str, Any]:
    if window is None:
        return {}
    start, sep, end = window.partition("-")
    if not sep:
        raise typer.BadParameter("use HH:MM-HH:MM", param_hint="--window")
    return {"WindowStart": start.strip(), "WindowEnd": end.strip()}


def common_fields(options: dict[str, Any]) -> dict[str, Any]:
    """The body fields of options given (None: not given), by their API names."""
    body: dict[str, Any] = {}
    simple = {
        "time_zone": "TimeZone",
        "robot": "RobotId",
        "group": "RobotGroupId",
        "queue": "QueueId",
        "max_runs": "MaxRuns",
        "max_monthly_runs": "MaxMonthlyRuns",
        "max_robots": "MaxRunningRobots",
        "calendar": "CalendarId",
        "start_at": "StartAt",
        "end_at": "EndAt",
        "check_missed": "CheckMissedTrigger",
        "stop_after": "StopAfter",
        "abort_after": "AbortAfter",
        "description": "Description",
    }
    for option, field in simple.items():
        if options.get(option) is not None:
            body[field] = options[option]
    flags = (("working_days", "WorkingDays"), ("skip_non_working", "SkipNonWorkingDays"))
    for flag, field in flags:
        if options.get(flag):
            body[field] = True  # a flag left off is not given (update keeps the stored value)
    if options.get("priority") is not None:
        if options["priority"] not in PRIORITIES:
            raise typer.BadParameter("use low, normal or high", param_hint="--priority")
        body["Priority"] = PRIORITIES[options["priority"]]
    if options.get("when_busy") is not None:
        body["WhenBusy"] = options["when_busy"].replace("-", "_")
    if options.get("params"):
        body["Parameters"] = pairs(options["params"], "--param")
    if options.get("mail") is not None:
        body["MailCondition"] = _mail(options["mail"])
    body.update(window_fields(options.get("window")))
    body.update(_json_values(pairs(options.get("sets") or [], "--set")))
    return body
