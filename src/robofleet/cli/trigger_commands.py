"""`robofleet trigger create|list|read|update|delete|enable|disable|preview|history|test`.

Triggers create jobs on a schedule, when a queue fills, or when mail arrives; every command
is one call of the Trigger tab's API (`/api/schedule/*`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from robofleet.cli import trigger_options as o
from robofleet.cli.client import DEFAULT_SERVER, KeyOption, ServerOption, api, call
from robofleet.contract import Api

app = typer.Typer(no_args_is_help=True)
console = Console()
Ref = Annotated[str, typer.Argument(help="The trigger's id, GUID or name.")]
STATUSES = {"enabled": 1, "disabled": 0, "completed": 2}


def _when(row: dict[str, Any]) -> str:
    kind = row["schedule_kind"]
    if kind == "cron":
        return f"cron {row['cron_tab']} ({row['time_zone']})"
    if kind == "last_day":
        return f"last day at {row['time_of_day']} ({row['time_zone']})"
    if kind == "nth_day":
        return f"day {row['day_of_month']} at {row['time_of_day']} ({row['time_zone']})"
    if row["mail_condition"]:
        return "continuous: e-mail"
    return "continuous: queue" if row["queue_id"] else "continuous"


def _next(row: dict[str, Any]) -> str:
    """`2026-12-02 23:00:00 UTC (02:00 Europe/Moscow)`; continuous triggers fire on their
    conditions, not at a time."""
    if row["schedule_kind"] == "continuous":
        return "when its conditions hold (continuous)"
    if not row["next_fire_at"]:
        return "none"
    at = datetime.strptime(row["next_fire_at"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    local = at.astimezone(ZoneInfo(row["time_zone"]))
    return f"{row['next_fire_at']} UTC ({local:%Y-%m-%d %H:%M} {row['time_zone']})"


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The trigger's name.")],
    process: Annotated[str, typer.Option("--process", help="Process id, GUID or name.")],
    cron: o.Cron = None,
    continuous: o.Continuous = False,
    last_day: o.LastDay = None,
    nth_day: o.NthDay = None,
    at: o.At = None,
    time_zone: o.TimeZone = None,
    robot: o.Robot = None,
    group: o.Group = None,
    queue: o.Queue = None,
    min_new_tasks: o.MinNewTasks = None,
    tasks_per_job: o.TasksPerJob = None,
    tags: o.Tags = None,
    take_status: o.TakeStatus = None,
    finish_when_empty: o.FinishWhenEmpty = False,
    mail: o.Mail = None,
    priority: o.Priority = None,
    params: o.Params = None,
    max_runs: o.MaxRuns = None,
    max_monthly_runs: o.MaxMonthlyRuns = None,
    max_robots: o.MaxRobots = None,
    when_busy: o.WhenBusy = None,
    window: o.Window = None,
    calendar: o.Calendar = None,
    working_days: o.WorkingDays = False,
    skip_non_working: o.SkipNonWorking = False,
    start_at: o.StartAt = None,
    end_at: o.EndAt = None,
    check_missed: o.CheckMissed = None,
    stop_after: o.StopAfter = None,
    abort_after: o.AbortAfter = None,
    description: o.Description = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it disabled.")] = False,
    sets: o.Sets = None,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
) -> None:
    """Create a trigger: one of --cron, --continuous (with --queue or --mail), --last-day,
    --nth-day; a target --robot or --group. Prints its GUID and next fire time."""
    options = dict(locals())
    body: dict[str, Any] = {"Name": name, "ProcessId": process}
    body.update(o.schedule_fields(cron, continuous, last_day, nth_day, at))
    condition = o.queue_condition(
        min_new_tasks, tasks_per_job, tags, take_status, finish_when_empty
    )
    if condition is not None:
        body["QueueCondition"] = condition
    if disabled:
        body["Status"] = 0
    body.update(o.common_fields(options))
    with api(server, key) as client:
        guid = call(client, "POST", Api.SCHEDULE_CREATE, json=body)["guid"]
        row = call(client, "GET", Api.SCHEDULE_READ.format(guid=guid))
    console.print(f"created trigger '{name}' {guid}", highlight=False)
    typer.echo(f"next fire: {_next(row)}")


@app.command("update")
def update(
    ref: Ref,
    name: Annotated[str | None, typer.Option("--name", help="A new name.")] = None,
    process: Annotated[str | None, typer.Option("--process")] = None,
    cron: o.Cron = None,
    continuous: o.Continuous = False,
    last_day: o.LastDay = None,
    nth_day: o.NthDay = None,
    at: o.At = None,
    time_zone: o.TimeZone = None,
    robot: o.Robot = None,
    group: o.Group = None,
    queue: o.Queue = None,
    min_new_tasks: o.MinNewTasks = None,
    tasks_per_job: o.TasksPerJob = None,
    tags: o.Tags = None,
    take_status: o.TakeStatus = None,
    finish_when_empty: o.FinishWhenEmpty = False,
    mail: o.Mail = None,
    priority: o.Priority = None,
    params: o.Params = None,
    max_runs: o.MaxRuns = None,
    max_monthly_runs: o.MaxMonthlyRuns = None,
    max_robots: o.MaxRobots = None,
    when_busy: o.WhenBusy = None,
    window: o.Window = None,
    calendar: o.Calendar = None,
    working_days: o.WorkingDays = False,
    skip_non_working: o.SkipNonWorking = False,
    start_at: o.StartAt = None,
    end_at: o.EndAt = None,
    check_missed: o.CheckMissed = None,
    stop_after: o.StopAfter = None,
    abort_after: o.AbortAfter = None,
    description: o.Description = None,
    sets: o.Sets = None,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
) -> None:
    """Change the given fields; the others keep their values."""
    options = dict(locals())
    body: dict[str, Any] = {"Guid": ref}
    if name is not None:
        body["Name"] = name
    if process is not None:
        body["ProcessId"] = process
    body.update(o.schedule_fields(cron, continuous, last_day, nth_day, at))
    if robot is not None:
        body["RobotGroupId"] = None  # a new robot replaces the group
    if group is not None:
        body["RobotId"] = None
    condition = o.queue_condition(
        min_new_tasks, tasks_per_job, tags, take_status, finish_when_empty
    )
    if condition is not None:
        body["QueueCondition"] = condition
    body.update(o.common_fields(options))
    with api(server, key) as client:
        call(client, "PUT", Api.SCHEDULE_UPDATE, json=body)
        row = call(client, "GET", Api.SCHEDULE_READ.format(guid=ref))
    console.print(f"updated trigger '{row['name']}' {row['guid']}", highlight=False)
    typer.echo(f"next fire: {_next(row)}")


@app.command("list")
def list_triggers(
    process: Annotated[str | None, typer.Option("--process", help="Only this process's.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="enabled, disabled or completed.")
    ] = None,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
) -> None:
    """Triggers with their schedule, target, status and next fire time."""
    params: dict[str, Any] = {"Count": 1000}
    if process:
        params["ProcessId"] = process
    if status:
        if status not in STATUSES:
            raise typer.BadParameter("use enabled, disabled or completed", param_hint="--status")
        params["Status"] = STATUSES[status]
    with api(server, key) as client:
        page = call(client, "GET", Api.SCHEDULE_LIST, params=params)
    table = Table("name", "when", "process", "target", "status", "next fire (UTC)", "runs", "GUID")
    for row in page["items"]:
        target = (
            f"robot {row['robot_name']}"
            if row["robot_name"]
            else f"group {row['robot_group_name']}"
        )
        table.add_row(
            row["name"],
            _when(row),
            row["process_name"],
            target,
            row["status_name"],
            "-" if row["schedule_kind"] == "continuous" else row["next_fire_at"] or "-",
            str(row["runs"]),
            row["guid"],
        )
    console.print(table)


@app.command("read")
def read(ref: Ref, server: ServerOption = DEFAULT_SERVER, key: KeyOption = "") -> None:
    """Every field of a trigger, as JSON."""
    with api(server, key) as client:
        row = call(client, "GET", Api.SCHEDULE_READ.format(guid=ref))
    typer.echo(json.dumps(row, indent=2, ensure_ascii=False))


def _simple(path: str, verb: str, ref: str, server: str, key: str) -> None:
    with api(server, key) as client:
        call(client, "DELETE" if verb == "deleted" else "POST", path.format(guid=ref))
    typer.echo(f"{verb} trigger {ref}")


@app.command("delete")
def delete(ref: Ref, server: ServerOption = DEFAULT_SERVER, key: KeyOption = "") -> None:
    """Delete a trigger (its history stays with the jobs it created)."""
    _simple(Api.SCHEDULE_DELETE, "deleted", ref, server, key)


@app.command("enable")
def enable(ref: Ref, server: ServerOption = DEFAULT_SERVER, key: KeyOption = "") -> None:
    """Enable a trigger; its schedule counts from now."""
    _simple(Api.SCHEDULE_ENABLE, "enabled", ref, server, key)


@app.command("disable")
def disable(ref: Ref, server: ServerOption = DEFAULT_SERVER, key: KeyOption = "") -> None:
    """Disable a trigger."""
    _simple(Api.SCHEDULE_DISABLE, "disabled", ref, server, key)


@app.command("preview")
def preview(
    ref: Ref,
    count: Annotated[int, typer.Option("--count", "-n", min=1, max=100)] = 5,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
) -> None:
    """The next fire times, in UTC and in the trigger's zone."""
    with api(server, key) as client:
        shown = call(client, "GET", Api.SCHEDULE_PREVIEW.format(guid=ref), params={"Count": count})
    if shown["continuous"]:
        typer.echo("continuous: fires whenever its conditions hold")
    for item in shown["fire_times"]:
        typer.echo(f"{item['at']} UTC   {item['local']}")


@app.command("test")
def test(ref: Ref, server: ServerOption = DEFAULT_SERVER, key: KeyOption = "") -> None:
    """Create a job now exactly as the trigger would; prints the job's GUID, or why the
    trigger's rules made no job (exit 1)."""
    with api(server, key) as client:
        outcome = call(client, "POST", Api.SCHEDULE_TEST.format(guid=ref))
    if not outcome["created"]:
        typer.echo(f"no job: {outcome['detail']}", err=True)
        raise typer.Exit(1)
    typer.echo(f"created job {outcome['job_guid']}")


@app.command("history")
def history(
    ref: Ref,
    count: Annotated[int, typer.Option("--count", "-n", min=1, max=1000)] = 20,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
) -> None:
    """The trigger's fires, newest first: the job it created, or why it skipped."""
    with api(server, key) as client:
        page = call(client, "GET", Api.SCHEDULE_HISTORY.format(guid=ref), params={"Count": count})
    table = Table("at (UTC)", "reason", "outcome", "scheduled (UTC)", "job", "detail")
    for row in page["items"]:
        table.add_row(
            row["created_at"],
            row["reason"],
            row["outcome"],
            row["scheduled_at"] or "-",
            row["job_guid"] or "-",
            row["detail"],
        )
    console.print(table)
