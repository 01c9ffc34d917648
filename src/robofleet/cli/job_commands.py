"""`robofleet job ...` and `robofleet robot list`."""

from __future__ import annotations

import time
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from robofleet.cli.client import DEFAULT_SERVER, KeyOption, ServerOption, api, call
from robofleet.cli.log_commands import print_line
from robofleet.contract import FINAL_JOB_STATUSES, Api, JobStatus, RobotStatus

app = typer.Typer(no_args_is_help=True)
console = Console()


def _parameters(pairs: list[str]) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"'{pair}' is not name=value", param_hint="--param")
        parameters[name] = value
    return parameters


@app.command("run")
def run(
    process: Annotated[str, typer.Argument(help="Process id, GUID or name.")],
    robot: Annotated[str | None, typer.Option(help="Run on this robot.")] = None,
    group: Annotated[
        str | None, typer.Option(help="Run on the first free robot of a group.")
    ] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="name=value")] = None,
    priority: Annotated[int, typer.Option(min=1, max=3, help="1 Low, 2 Normal, 3 High.")] = 2,
    follow: Annotated[bool, typer.Option(help="Follow the log until the job ends.")] = False,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
) -> None:
    """Start a job; prints its GUID. With --follow, exits non-zero unless it succeeded."""
    body: dict[str, Any] = {
        "Process": process,
        "Priority": priority,
        "Parameters": _parameters(param or []),
    }
    if robot:
        body["Robot"] = robot
    if group:
        body["RobotGroup"] = group
    with api(server, key) as client:
        job = call(client, "POST", Api.JOB_CREATE, json=body)
        typer.echo(job["guid"])
        if follow:
            status = follow_job(client, job["guid"])
            raise typer.Exit(0 if status == JobStatus.SUCCESS else 1)


def follow_job(client: httpx.Client, guid: str, poll: float = 0.5) -> int:
    """Print the job's log lines as they arrive; return its final status."""
    after = 0
    while True:
        job = call(client, "GET", Api.JOB_READ.format(guid=guid))
        lines = call(
            client, "GET", Api.LOG_LIST, params={"Job": guid, "AfterId": after, "Count": 1000}
        )
        for line in lines:
            after = max(after, line["id"])
            print_line(line)
        if job["status"] in FINAL_JOB_STATUSES and not lines:
            ended = JobStatus(job["status"])
            console.print(
                f"job {guid} ended {ended.label}"
                + (f": {job['last_message']}" if ended != JobStatus.SUCCESS else ""),
                markup=False,
                highlight=False,
            )
            return int(job["status"])
        time.sleep(poll)


@app.command("list")
def list_jobs(
    status: Annotated[str | None, typer.Option(help="Statuses, e.g. 1,8")] = None,
    count: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
) -> None:
    """The newest jobs."""
    params: dict[str, Any] = {"Count": count}
    if status:
        params["Status"] = status
    with api(server, key) as client:
        page = call(client, "GET", Api.JOB_LIST, params=params)
    table = Table("GUID", "process", "robot", "status", "created", "last message")
    for job in page["items"]:
        table.add_row(
            job["guid"],
            job["process_name"],
            job["robot_name"] or "-",
            job["status_name"],
            job["created_at"],
            job["last_message"][:60],
        )
    console.print(table)
    console.print(f"{page['count']} of {page['total']} jobs")


def list_robots(server: ServerOption = DEFAULT_SERVER, key: KeyOption = "") -> None:
    """Robots with their status and last contact."""
    with api(server, key) as client:
        robots = call(client, "GET", Api.ROBOT_READ)
    names = {int(status): status.label for status in RobotStatus}
    table = Table("GUID", "name", "status", "type", "active", "last heartbeat")
    for robot in robots:
        seen = robot["LastHeartbeatAt"]
        table.add_row(
            robot["GUID"],
            robot["Name"],
            names.get(robot["Status"], "?"),
            robot["Type"],
            "yes" if robot["Active"] else "no",
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seen)) if seen else "-",
        )
    console.print(table)
