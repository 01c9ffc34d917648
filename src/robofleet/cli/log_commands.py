"""`robofleet log tail`: follow robot log lines live (the server's Server-Sent Events)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape

from robofleet.cli.client import DEFAULT_SERVER, KeyOption, ServerOption, api, checked
from robofleet.contract import Api, LogLevel

app = typer.Typer(no_args_is_help=True)
console = Console(highlight=False)
STYLES = {LogLevel.ERROR: "red", LogLevel.CRITICAL: "bold red", LogLevel.WARNING: "yellow"}
RECONNECT_SECONDS = 1.0


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str | None, str]]:
    """(id, data) of each `log` event in a text/event-stream; comments are skipped."""
    event_id: str | None = None
    kind = "message"
    data: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r")
        if not line:
            if data and kind == "log":
                yield event_id, "\n".join(data)
            kind, data = "message", []
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "id":
            event_id = value
        elif name == "event":
            kind = value
        elif name == "data":
            data.append(value)


def print_line(line: dict[str, Any]) -> None:
    style = STYLES.get(line.get("level_name", ""), "")
    console.print(f"[dim]{line['created_at']}[/] {escape(line['Message'])}", style=style)


@app.command("tail")
def tail(
    job: Annotated[str | None, typer.Option(help="Only this job's lines (GUID or id).")] = None,
    robot: Annotated[str | None, typer.Option(help="Only this robot's lines.")] = None,
    min_level: Annotated[
        str | None, typer.Option("--min-level", help="This level or a more severe one.")
    ] = None,
    search: Annotated[str | None, typer.Option(help="Text the message contains.")] = None,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
) -> None:
    """Print log lines as robots write them, until interrupted (Ctrl+C). Reconnects by
    itself, going on after the last line printed."""
    params = {
        name: value
        for name, value in (
            ("Job", job),
            ("Robot", robot),
            ("MinLevel", min_level),
            ("Search", search),
        )
        if value
    }
    last_id: str | None = None
    with api(server, key, timeout=120) as client:
        while True:
            headers = {"Last-Event-ID": last_id} if last_id else {}
            try:
                with client.stream("GET", Api.LOG_TAIL, params=params, headers=headers) as reply:
                    if not reply.is_success:
                        reply.read()
                        checked(reply)
                    for event_id, data in sse_events(reply.iter_lines()):
                        print_line(json.loads(data))
                        last_id = event_id or last_id
            except httpx.HTTPError as exc:
                typer.echo(f"connection lost ({exc}); reconnecting", err=True)
            except KeyboardInterrupt:
                return
            time.sleep(RECONNECT_SECONDS)
