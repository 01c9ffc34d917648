"""`robofleet queue ...` and `robofleet task list`."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from robofleet.cli.client import DEFAULT_SERVER, KeyOption, ServerOption, api, call
from robofleet.contract import Api, TaskStatus

app = typer.Typer(no_args_is_help=True)
tasks_app = typer.Typer(no_args_is_help=True)
console = Console()
CHUNK = 1000


def read_tasks(path: Path) -> Iterator[dict[str, Any]]:
    """Tasks from CSV (a `Name` column, others become parameters unless they are task
    fields) or JSON lines (one task object per line)."""
    fields = {
        "name",
        "description",
        "comment",
        "priority",
        "tags",
        "deadline",
        "postponed_until",
        "parameters",
    }
    if path.suffix.lower() in {".jsonl", ".ndjson", ".json"}:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise typer.BadParameter(f"line {number}: {exc.msg}") from None
        return
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            task: dict[str, Any] = {"parameters": {}}
            for column, value in row.items():
                name = (column or "").strip()
                if name.lower() in fields and name.lower() != "parameters":
                    task[name.lower()] = value
                elif name:
                    task["parameters"][name] = value
            yield task


@app.command("add")
def add(
    queue: Annotated[str, typer.Argument(help="Queue id, GUID or name.")],
    file: Annotated[
        Path, typer.Option("--file", exists=True, dir_okay=False, help="tasks.csv or tasks.jsonl")
    ],
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
) -> None:
    """Add the tasks of a file, in bulk, with a progress bar; refused ones are listed."""
    tasks = list(read_tasks(file))
    created = 0
    failed: list[dict[str, Any]] = []
    with api(server, key, timeout=300) as client, Progress(transient=True) as progress:
        bar = progress.add_task(f"adding to {queue}", total=len(tasks))
        for start in range(0, len(tasks), CHUNK):
            chunk = tasks[start : start + CHUNK]
            result = call(
                client,
                "POST",
                Api.TASK_BULK_CREATE,
                json={"Queue": queue, "Mode": "each", "Tasks": chunk},
            )
            created += result["created"]
            failed.extend({**f, "index": f["index"] + start} for f in result["failed"])
            progress.update(bar, advance=len(chunk))
    for failure in failed:
        console.print(
            f"task {failure['index'] + 1} ({failure['name']}): {failure['message']}",
            style="red",
            highlight=False,
        )
    console.print(f"added {created} of {len(tasks)} tasks to '{queue}'")
    if failed:
        raise typer.Exit(1)


@app.command("list")
def list_queues(server: ServerOption = DEFAULT_SERVER, key: KeyOption = "") -> None:
    """Queues with their task counts per status."""
    with api(server, key) as client:
        queues = call(client, "GET", Api.QUEUE_LIST)
    statuses = [status.label for status in TaskStatus]
    table = Table("queue", *statuses)
    for queue in queues:
        table.add_row(queue["name"], *(str(queue["counts"][s]) for s in statuses))
    console.print(table)


@tasks_app.command("list")
def list_tasks(
    queue: Annotated[str, typer.Argument(help="Queue id, GUID or name.")],
    status: Annotated[str | None, typer.Option(help="Statuses, e.g. 0,1")] = None,
    tags: Annotated[str | None, typer.Option(help="+a;-b")] = None,
    count: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
) -> None:
    """The newest tasks of a queue."""
    body: dict[str, Any] = {"Count": count}
    if status:
        body["Status"] = status
    if tags:
        body["Tags"] = tags
    with api(server, key) as client:
        tasks = call(client, "POST", Api.TASK_FILTER_LIST.format(queue=queue), json=body)
    table = Table("GUID", "name", "status", "priority", "retries", "tags", "created")
    for task in tasks:
        table.add_row(
            task["guid"],
            task["name"],
            task["status_name"],
            str(task["priority"]),
            str(task["retries"]),
            task["tags"],
            task["created"],
        )
    console.print(table)
